package httpcache

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRecorderCommittingBeforeRefusal: Committing receives the status as the
// response commits, before OnFail hears of a refusal at commit, whichever
// made it: Divert, the Recorder's own ahead of Check (a declared Trailer, a
// field set with http.TrailerPrefix, an event stream with StoreFlushed), or
// Check. Only Check's refusals had the status known to OnFail's caller.
func TestRecorderCommittingBeforeRefusal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*Recorder)
		field [2]string
		want  Reason
	}{
		{"Divert", func(r *Recorder) { r.Divert = func(s int) bool { return s >= 500 } }, [2]string{}, ReasonDiverted},
		{"Trailer", nil, [2]string{"Trailer", "X-Checksum"}, ReasonTrailer},
		{"TrailerPrefix", nil, [2]string{http.TrailerPrefix + "X-Checksum", "1"}, ReasonTrailer},
		{"event-stream", func(r *Recorder) { r.StoreFlushed = true }, [2]string{"Content-Type", "text/event-stream"}, ReasonStreaming},
		{"Check", nil, [2]string{}, ReasonStatus},
	} {
		for _, hold := range []bool{false, true} {
			t.Run(tc.name+"/hold="+strconv.FormatBool(hold), func(t *testing.T) {
				var events []string
				rec := &Recorder{Hold: hold}
				if tc.setup != nil {
					tc.setup(rec)
				}
				var committed int
				rec.Committing = &committed
				rec.Check = func(status int, _ http.Header) Reason { return ReasonStatus }
				rec.OnFail = func(r Reason) {
					events = append(events, "commit "+strconv.Itoa(committed), "fail "+string(r))
				}
				w := rec.Reset(discard{h: http.Header{}})
				if tc.field[0] != "" {
					w.Header().Set(tc.field[0], tc.field[1])
				}
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte("broken"))
				rec.Finish()
				assert.Equal(t, []string{"commit 500", "fail " + string(tc.want)}, events)
			})
		}
	}
}
