package e2e

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func result(rps float64, p99 time.Duration) *Result {
	r := &Result{Requests: int64(rps), Elapsed: time.Second}
	r.Latency.Record(p99)
	return r
}

func TestSummarizeDividesByTheReferenceOfTheSameRound(t *testing.T) {
	runs := []Run{
		{1, "fast", result(300, time.Millisecond)},
		{1, Reference, result(100, 2*time.Millisecond)},
		{2, Reference, result(200, 2*time.Millisecond)},
		{2, "fast", result(400, 4*time.Millisecond)},
		{3, "fast", result(500, 4*time.Millisecond)},
		{3, Reference, result(200, 2*time.Millisecond)},
	}
	rows := Summarize(runs)
	if len(rows) != 2 || rows[0].Contender != Reference || rows[1].Contender != "fast" {
		t.Fatalf("rows %+v; want the reference, then fast", rows)
	}
	fast := rows[1]
	if fast.RPS != 400 || fast.Rounds != 3 {
		t.Errorf("fast: RPS %v over %d rounds; want the median 400 over 3", fast.RPS, fast.Rounds)
	}
	if want := (Spread{2.5, 2, 3}); fast.RPSRatio != want {
		t.Errorf("fast: RPSRatio %+v; want %+v (3, 2, 2.5)", fast.RPSRatio, want)
	}
	if fast.P99Ratio.Median < 1.9 || fast.P99Ratio.Median > 2.1 || fast.P99Ratio.Min > 0.51 {
		t.Errorf("fast: P99Ratio %+v; want a median of 2 (0.5, 2, 2)", fast.P99Ratio)
	}

	var table bytes.Buffer
	WriteTable(&table, rows, []Contender{{Name: "fast", Title: "The fast one"}})
	if !strings.Contains(table.String(), "| The fast one | 400 | 2.50x (2.00–3.00) |") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestReplaceSection(t *testing.T) {
	doc := []byte("before\n<!-- b -->\nold\n<!-- e -->\nafter\n")
	got, err := ReplaceSection(doc, "<!-- b -->", "<!-- e -->", "new\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "before\n<!-- b -->\nnew\n<!-- e -->\nafter\n"; string(got) != want {
		t.Errorf("got %q; want %q", got, want)
	}
	if _, err := ReplaceSection(doc, "<!-- x -->", "<!-- e -->", ""); err == nil {
		t.Error("no begin marker: no error")
	}
}
