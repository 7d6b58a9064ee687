package main

// tasks.go: the routes of the background work. POST /api/orders and POST
// /api/reports enqueue a job and answer 202 with its task id at once (Celery's
// .delay()); a report already kept, or made by a job of the same sales that
// has completed, or of a month with no sales, is answered 200 at once
// instead. GET /api/tasks/{id} tells how it is going (Celery's
// AsyncResult).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-caching/caching"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// maxQuantity is the largest quantity of one order.
const maxQuantity = 1000

// orderInput is the body of POST /api/orders. Quantity is a float64 so that
// 2.5 gets the quantity's error rather than a JSON type error.
type orderInput struct {
	UserID    *int64   `json:"user_id"`
	ProductID *int64   `json:"product_id"`
	Quantity  *float64 `json:"quantity"`
}

func (in orderInput) validate() error {
	switch {
	case in.UserID == nil || in.ProductID == nil || in.Quantity == nil:
		return errors.New("user_id, product_id and quantity are required")
	case *in.UserID < 1 || *in.ProductID < 1:
		return errors.New("user_id and product_id must be positive integers")
	case *in.Quantity < 1 || *in.Quantity > maxQuantity || *in.Quantity != math.Trunc(*in.Quantity):
		return fmt.Errorf("quantity must be an integer from 1 to %d", maxQuantity)
	}
	return nil
}

// POST /api/orders
func (a *api) createOrder(w http.ResponseWriter, r *http.Request) {
	var in orderInput
	if !decodeBody(w, r, &in) {
		return
	}
	if err := in.validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// The order and its job are committed together, or neither is. The
	// order holds the product's price now, which it is charged whenever
	// its job runs.
	res, err := a.queue.insertWith(r.Context(), func(q rowQuery) (river.JobArgs, error) {
		id, err := a.store.InsertOrder(r.Context(), q, *in.UserID, *in.ProductID, int64(*in.Quantity))
		return orderArgs{OrderID: id}, err
	})
	switch {
	case errors.Is(err, errNotFound):
		writeError(w, http.StatusBadRequest, "unknown product_id")
		return
	case errors.Is(err, errOrderTooLarge):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	writeAccepted(w, res.Job)
}

// reportInput is the body of POST /api/reports.
type reportInput struct {
	UserID *int64  `json:"user_id"`
	Month  *string `json:"month"`
}

func (in reportInput) validate() error {
	switch {
	case in.UserID == nil || in.Month == nil:
		return errors.New("user_id and month are required")
	case *in.UserID < 1:
		return errors.New("user_id must be a positive integer")
	}
	_, err := parseMonth(*in.Month)
	return err
}

// POST /api/reports
func (a *api) createReport(w http.ResponseWriter, r *http.Request) {
	var in reportInput
	if !decodeBody(w, r, &in) {
		return
	}
	if err := in.validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	args := reportArgs{UserID: *in.UserID, Month: *in.Month}
	report, err := a.keptReport(r.Context(), args)
	switch {
	case err == nil:
		a.keptReads.ok(r.Context())
		writeJSON(w, http.StatusOK, report)
		return
	case errors.Is(err, caching.ErrNotFound):
		a.keptReads.ok(r.Context())
	case !clientLeft(r):
		// The cache is down: make the report again. (A client that left
		// cancelled the read: no sign of the cache's health.) Logged at a
		// rate the client's requests do not drive (failureLog).
		a.keptReads.failed(r.Context(), err)
	}
	// A month with no sales is answered at once with its report of zeros:
	// no job (its row is kept 24 hours), nothing kept (storeReport). A
	// report like it that is waiting or being made answers with its
	// task, unless the month had another sale since it was asked for: its
	// read may have missed the sale (reportJobArgs).
	month, _ := parseMonth(args.Month) // valid: validate checked it
	mark, err := a.store.reportMarkOf(r.Context(), args.UserID, month)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if mark.count == 0 {
		writeJSON(w, http.StatusOK, noSalesReport(args.UserID, month))
		return
	}
	res, err := a.queue.client.Insert(r.Context(), reportJobArgs{reportArgs: args, Sales: mark.count, LastSale: mark.maxID}, nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// A job of the same sales that has completed (reportJobArgs) holds the
	// report: its result answers, as the kept report would have.
	if out := res.Job.Output(); res.Job.State == rivertype.JobStateCompleted && len(out) > 0 {
		writeJSON(w, http.StatusOK, json.RawMessage(out))
		return
	}
	writeAccepted(w, res.Job)
}

// task is the answer of GET /api/tasks/{id}.
type task struct {
	TaskID string `json:"task_id"`
	// Kind is "order" or "report".
	Kind string `json:"kind"`
	// Status is pending, running, retrying (an attempt failed and another
	// is due), succeeded or failed (for good).
	Status string `json:"status"`
	// Result is the job's result once it succeeded, else null.
	Result json.RawMessage `json:"result"`
	// Attempts is the number of attempts started; Error, what went wrong
	// in the last one that failed, in one of a few fixed messages
	// (publicTaskError).
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
}

// What a task shows of the error of a failed attempt. Any client may read
// any task (the ids are sequential), so it shows one of these fixed
// messages, never the error itself, which named the cache server's
// address ("dial tcp 10.0.0.5:6379: connect: connection refused") or held
// the database driver's text: those are in the job's row and in the log
// (jobErrorLog).
const (
	taskErrFailed       = "the attempt failed" // any error not below: a panic, a worker that died
	taskErrTimedOut     = "the attempt timed out"
	taskErrDatabase     = "the database could not complete the order"
	taskErrInvalidation = "the sale is recorded, but updating the cache failed (invalidation failed)"
	taskErrReport       = "the report could not be made or kept"
)

// publicTaskErrors are the messages a task may show: those above and
// orderErrors.
var publicTaskErrors = append([]string{taskErrTimedOut, taskErrDatabase, taskErrInvalidation, taskErrReport}, orderErrors...)

// orderErrors are the errors that fail an order for good, which say what
// the customer must know. The version before stored them after the order's
// id ("order 12: the product ordered no longer exists"); their text is the
// service's own wherever it is.
var orderErrors = []string{errProductGone.Error(), errPriceUnknown.Error(), errOrderTooLarge.Error()}

// publicTaskError returns what a task shows of stored, the error of a
// job's attempt as River keeps it: the public message it begins with (a
// jobError's text, or an error that fails an order for good, followed by
// ": " and its cause; River puts "JobCancelError: " before the error of
// an attempt that ended the job, river.JobCancel's), or taskErrFailed for
// any other text, such as River's own (a panic's value, a stuck job
// rescued) or an error stored by the version before (but for its
// orderErrors).
func publicTaskError(stored string) string {
	stored = strings.TrimPrefix(stored, "JobCancelError: ")
	for _, msg := range publicTaskErrors {
		if stored == msg || strings.HasPrefix(stored, msg+": ") {
			return msg
		}
	}
	for _, msg := range orderErrors {
		if strings.HasSuffix(stored, ": "+msg) {
			return msg
		}
	}
	return taskErrFailed
}

// jobError is the error of a job's attempt: public, one of the task
// messages above, then its cause. River keeps the whole text in the job's
// row, the log has it (jobErrorLog), and a task shows the public part.
type jobError struct {
	public string
	err    error
}

// taskError returns err as the error of an attempt, shown as public, or
// as taskErrTimedOut when the attempt ran out of time (River's JobTimeout).
func taskError(public string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		public = taskErrTimedOut
	}
	return &jobError{public: public, err: err}
}

func (e *jobError) Error() string { return e.public + ": " + e.err.Error() }
func (e *jobError) Unwrap() error { return e.err }

// taskKinds are the kinds of jobs that are tasks of the API, by River kind.
var taskKinds = map[string]string{orderArgs{}.Kind(): "order", reportJobArgs{}.Kind(): "report"}

// newTask describes job as a task.
func newTask(job *rivertype.JobRow) task {
	t := task{TaskID: strconv.FormatInt(job.ID, 10), Kind: taskKinds[job.Kind], Attempts: job.Attempt}
	if n := len(job.Errors); n > 0 {
		t.Error = publicTaskError(job.Errors[n-1].Error)
	}
	switch job.State {
	case rivertype.JobStateCompleted:
		t.Status, t.Result = "succeeded", job.Output()
	case rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		t.Status = "failed"
	case rivertype.JobStateRunning:
		t.Status = "running"
	case rivertype.JobStateRetryable:
		t.Status = "retrying"
	default: // available, scheduled, pending: again after a failure, or yet
		t.Status = "pending"
		if len(job.Errors) > 0 {
			t.Status = "retrying"
		}
	}
	return t
}

// writeAccepted answers 202 with the task of job (its status: a report like
// it may be running already) and its address in Location.
func writeAccepted(w http.ResponseWriter, job *rivertype.JobRow) {
	t := newTask(job)
	w.Header().Set("Location", "/api/tasks/"+t.TaskID)
	writeJSON(w, http.StatusAccepted, map[string]string{"task_id": t.TaskID, "status": t.Status})
}

// GET /api/tasks/{id}
func (a *api) getTask(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 || strings.HasPrefix(r.PathValue("id"), "+") {
		writeError(w, http.StatusNotFound, "no task with this id")
		return
	}
	job, err := a.queue.client.JobGet(r.Context(), id)
	if errors.Is(err, river.ErrNotFound) || (err == nil && taskKinds[job.Kind] == "") {
		// Finished tasks are kept 24 hours (River's retention of
		// completed jobs); the periodic jobs are not tasks of the API.
		writeError(w, http.StatusNotFound, "no task with this id")
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newTask(job))
}
