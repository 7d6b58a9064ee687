package httpcache

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRecorderDatesAnUndatedResponse: with Date set, a response committed
// without a Date, or with a nil-valued one, is sent with the Date it
// returns (called once, after Check); the recorded copy is left as the
// handler made it; a dated response, and a diverted one, which is not
// sent, are not dated.
func TestRecorderDatesAnUndatedResponse(t *testing.T) {
	const date = "Wed, 01 Jan 2025 00:00:00 GMT"
	for _, tc := range []struct {
		name   string
		set    http.Header
		status int
		want   []string
		calls  int
	}{
		{"none", http.Header{}, http.StatusOK, []string{date}, 1},
		{"nil-valued", http.Header{"Date": nil}, http.StatusOK, []string{date}, 1},
		{"the handler's", http.Header{"Date": {"Tue, 31 Dec 2024 00:00:00 GMT"}}, http.StatusOK, []string{"Tue, 31 Dec 2024 00:00:00 GMT"}, 0},
		{"diverted", http.Header{}, http.StatusBadGateway, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, checked := 0, false
			rec := &Recorder{
				Check:  func(int, http.Header) Reason { checked = true; return ReasonNone },
				Divert: func(status int) bool { return status >= 500 },
				Date: func() []string {
					assert.True(t, checked, "after Check")
					calls++
					return []string{date}
				},
			}
			w := httptest.NewRecorder()
			hw := rec.Reset(w)
			for k, vs := range tc.set {
				hw.Header()[k] = vs
			}
			hw.WriteHeader(tc.status)
			_, _ = hw.Write([]byte("x"))
			_, h, _, _ := rec.Finish()
			_ = rec.Send()
			assert.Equal(t, tc.calls, calls)
			if tc.status < 500 {
				assert.Equal(t, tc.want, w.Result().Header["Date"], "sent")
			}
			assert.Equal(t, tc.set["Date"], h["Date"], "recorded as the handler made it")
		})
	}
}
