package backendtest_test

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/backendtest"
	"github.com/go-caching/caching/internal/decimal"
	"github.com/go-caching/caching/internal/testutil"
)

// mapStore is a small in-memory store, on a fake clock, that keeps the
// contract of package backend (Backend, SetManyer, Incrementer and
// ValueStore), but for the one break named by its bug.
type mapStore struct {
	mu     sync.Mutex
	clock  *testutil.Clock
	m      map[string]mapEntry
	closed bool
	bug    string
}

type mapEntry struct {
	b     []byte
	v     any  // for a Go value
	isV   bool // a Go value, seen by LoadValue only
	until time.Time
}

var (
	_ backend.SetManyer   = (*mapStore)(nil)
	_ backend.Incrementer = (*mapStore)(nil)
	_ backend.ValueStore  = (*mapStore)(nil)
)

func (s *mapStore) deadline(ttl time.Duration) time.Time {
	now := s.clock.Now()
	if ttl == 0 || now.Add(ttl).Before(now) {
		return time.Time{} // never, or past what time.Time holds
	}
	return now.Add(ttl)
}

// live returns the entry under k, unless it expired. Call with mu held.
func (s *mapStore) live(k string) (mapEntry, bool) {
	e, ok := s.m[k]
	if ok && !e.until.IsZero() && !s.clock.Now().Before(e.until) {
		delete(s.m, k)
		return mapEntry{}, false
	}
	return e, ok
}

// check returns the error of a call of method: ErrClosed after Close, or
// one for the key the store refuses. Call with mu held.
func (s *mapStore) check(method string, keys ...string) error {
	if s.closed && (s.bug != "closed-"+method+"-succeeds") {
		return backend.ErrClosed
	}
	for _, k := range keys {
		if k == "" && s.bug == "empty-key-refused" {
			return errors.New("mapstore: empty key")
		}
	}
	return nil
}

// key is the map's key for k: k itself, but for the truncating bug.
func (s *mapStore) key(k string) string {
	if s.bug == "long-keys-truncated" && len(k) > 512 {
		return k[:512]
	}
	return k
}

func (s *mapStore) Get(_ context.Context, k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Get", k); err != nil {
		return nil, err
	}
	if e, ok := s.live(s.key(k)); ok && (!e.isV || s.bug == "values-seen-by-Get") {
		return e.b, nil
	}
	return nil, backend.ErrNotFound
}

func (s *mapStore) Set(_ context.Context, k string, v []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set("Set", k, v, ttl)
}

// set stores v under k for Set and SetMany. Call with mu held.
func (s *mapStore) set(method, k string, v []byte, ttl time.Duration) error {
	if err := s.check(method, k); err != nil {
		return err
	}
	if err := backend.CheckTTL(ttl); err != nil {
		return err
	}
	until := s.deadline(ttl)
	if old, ok := s.live(s.key(k)); ok && s.bug == "overwrite-keeps-expiry" {
		until = old.until
	}
	if s.bug != method+"-keeps-callers-slice" {
		v = append([]byte{}, v...)
	}
	s.m[s.key(k)] = mapEntry{b: v, until: until}
	return nil
}

func (s *mapStore) Add(_ context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Add", k); err != nil {
		return false, err
	}
	if err := backend.CheckTTL(ttl); err != nil {
		return false, err
	}
	if _, ok := s.live(s.key(k)); ok {
		return false, nil
	}
	if s.bug == "Add-ignores-ttl" {
		ttl = 0
	}
	if s.bug != "Add-keeps-callers-slice" {
		v = append([]byte{}, v...)
	}
	s.m[s.key(k)] = mapEntry{b: v, until: s.deadline(ttl)}
	return true, nil
}

func (s *mapStore) Delete(_ context.Context, keys ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Delete", keys...); err != nil {
		return err
	}
	for _, k := range keys {
		if s.bug == "Delete-truncates-long-keys" && len(k) > 512 {
			k = k[:512] // mapped as no other method maps it
		}
		if e, ok := s.m[s.key(k)]; ok && !(e.isV && s.bug == "Delete-leaves-values") {
			delete(s.m, s.key(k))
		}
	}
	return nil
}

func (s *mapStore) Clear(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Clear"); err != nil {
		return err
	}
	clear(s.m)
	return nil
}

func (s *mapStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *mapStore) SetMany(_ context.Context, items []backend.Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("SetMany"); err != nil {
		return err
	}
	for _, it := range items {
		if err := s.set("SetMany", it.Key, it.Value, it.TTL); err != nil {
			return err
		}
	}
	return nil
}

func (s *mapStore) Incr(_ context.Context, k string, delta int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check("Incr", k); err != nil {
		return 0, err
	}
	n, until := delta, time.Time{}
	if e, ok := s.live(s.key(k)); ok {
		cur, isInt := decimal.Parse(string(e.b))
		u, err := strconv.ParseUint(string(e.b), 10, 64)
		switch {
		case isInt:
			n = cur + delta
			if delta > 0 && n < cur || delta < 0 && n > cur {
				return 0, backend.ErrNotInteger
			}
		case s.bug == "decrement-counts-above-MaxInt64" && err == nil && delta < 0 && u+uint64(delta) <= math.MaxInt64:
			n = int64(u + uint64(delta)) // as memcached's unsigned decr
		default:
			return 0, backend.ErrNotInteger
		}
		until = e.until
	}
	if s.bug == "Incr-drops-expiry" {
		until = time.Time{}
	}
	s.m[s.key(k)] = mapEntry{b: strconv.AppendInt(nil, n, 10), until: until}
	return n, nil
}

func (s *mapStore) LoadValue(k string) (any, bool) {
	return s.LoadValueAt(k, time.Time{})
}

// LoadValueAt ignores now: the store's clock is not time.Now.
func (s *mapStore) LoadValueAt(k string, _ time.Time) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	if e, ok := s.live(s.key(k)); ok && e.isV {
		return e.v, true
	}
	return nil, false
}

func (s *mapStore) StoreValue(k string, v any, _ int, ttl time.Duration) error {
	_, err := s.storeValue("StoreValue", k, v, ttl)
	return err
}

func (s *mapStore) AddValue(k string, v any, _ int, ttl time.Duration) (bool, error) {
	return s.storeValue("AddValue", k, v, ttl)
}

func (s *mapStore) storeValue(method, k string, v any, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(method, k); err != nil {
		return false, err
	}
	if err := backend.CheckTTL(ttl); err != nil {
		return false, err
	}
	if _, ok := s.live(s.key(k)); ok && method == "AddValue" {
		return false, nil
	}
	if s.bug == "values-never-expire" {
		ttl = 0
	}
	s.m[s.key(k)] = mapEntry{v: v, isV: true, until: s.deadline(ttl)}
	return true, nil
}

// runSuiteOnMapStore runs the suite on a mapStore with the break named by
// $BACKENDTEST_BREAK; TestSuiteFailsAStoreThatBreaksTheContract runs it in a
// subprocess, since a store that fails the suite fails the test that runs it.
const breakEnv = "BACKENDTEST_BREAK"

func runSuiteOnMapStore(t *testing.T, bug string) {
	clock := testutil.NewClock()
	backendtest.RunWith(t, func(t *testing.T) backend.Backend {
		return &mapStore{clock: clock, m: map[string]mapEntry{}, bug: bug}
	}, backendtest.Options{Advance: clock.Advance})
}

// The map store without a break passes: the breaks below are what fails it.
func TestSuitePassesAConformingStore(t *testing.T) {
	runSuiteOnMapStore(t, "")
}

// TestSuiteOnABrokenStore is TestSuiteFailsAStoreThatBreaksTheContract's
// subprocess.
func TestSuiteOnABrokenStore(t *testing.T) {
	bug, ok := os.LookupEnv(breakEnv)
	if !ok {
		t.Skip("run by TestSuiteFailsAStoreThatBreaksTheContract")
	}
	runSuiteOnMapStore(t, bug)
}

// A store that breaks one promise of package backend's contract fails the
// suite, in the subtest that checks that promise: a user who proves a store
// with backendtest.Run learns of the break.
func TestSuiteFailsAStoreThatBreaksTheContract(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in a subprocess per break")
	}
	for _, tc := range []struct{ bug, subtest, promise string }{
		{"Incr-drops-expiry", "Expiry", "Incrementer: an existing key keeps its expiry"},
		{"overwrite-keeps-expiry", "Expiry", "Set stores value for ttl, replacing any entry"},
		{"Add-ignores-ttl", "Expiry", "Add stores value under key for ttl"},
		{"values-never-expire", "Expiry", "ValueStore: expiry applies to values"},
		{"Add-keeps-callers-slice", "ValueIsCopied", "no reference to a value passed to Add is kept"},
		{"SetMany-keeps-callers-slice", "ValueIsCopied", "no reference to a value passed to SetMany is kept"},
		{"empty-key-refused", "Keys", "keys are arbitrary strings, the empty one too"},
		{"long-keys-truncated", "Keys", "keys are mapped without collisions"},
		{"Delete-truncates-long-keys", "KeysEveryMethod", "every method maps a key as Set does"},
		{"decrement-counts-above-MaxInt64", "IncrCanonical", "Incr of a value that is no int64 is ErrNotInteger"},
		{"values-seen-by-Get", "ValueStore", "values stored with StoreValue are not visible to Get"},
		{"Delete-leaves-values", "ValueStore", "Delete applies to values"},
		{"closed-Add-succeeds", "Close", "calls after Close return ErrClosed"},
		{"closed-Delete-succeeds", "Close", "calls after Close return ErrClosed"},
		{"closed-Clear-succeeds", "Close", "calls after Close return ErrClosed"},
		{"closed-SetMany-succeeds", "Close", "calls after Close return ErrClosed"},
		{"closed-Incr-succeeds", "Close", "calls after Close return ErrClosed"},
		{"closed-StoreValue-succeeds", "Close", "calls after Close return ErrClosed"},
		{"closed-AddValue-succeeds", "Close", "calls after Close return ErrClosed"},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteOnABrokenStore$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), breakEnv+"="+tc.bug)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatalf("running the suite: %v", err)
			}
			failed := regexp.MustCompile(`(?m)^\s*--- FAIL: TestSuiteOnABrokenStore/` + tc.subtest + ` `)
			if err == nil || !failed.Match(out) {
				t.Errorf("a store that breaks %q does not fail the suite's %s:\n%s", tc.promise, tc.subtest, out)
			}
		})
	}
}
