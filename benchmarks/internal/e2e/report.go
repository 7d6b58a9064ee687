package e2e

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"time"
)

// Row is one contender's figures over every round of a Bench.
type Row struct {
	Contender string
	// RPS, P50 and P99 are the medians over the rounds.
	RPS      float64
	P50, P99 time.Duration
	// RPSRatio and P99Ratio divide the contender's figure by the
	// reference's of the same round: their median, lowest and highest.
	RPSRatio, P99Ratio Spread
	Rounds             int
}

// Spread is the median, lowest and highest of a figure over the rounds.
type Spread struct{ Median, Min, Max float64 }

func spread(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return Spread{median(s), s[0], s[len(s)-1]}
}

// median of sorted values.
func median(s []float64) float64 {
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Summarize turns runs into one Row per contender, in the order of their
// first run (the reference first), with ratios to the reference of the
// same round. A round without the reference gives no ratios.
func Summarize(runs []Run) []Row {
	ref := map[int]*Result{}
	var order []string
	byName := map[string][]Run{}
	for _, r := range runs {
		if r.Contender == Reference {
			ref[r.Round] = r.Result
		}
		if byName[r.Contender] == nil {
			order = append(order, r.Contender)
		}
		byName[r.Contender] = append(byName[r.Contender], r)
	}
	slices.SortStableFunc(order, func(a, b string) int {
		return boolInt(b == Reference) - boolInt(a == Reference)
	})
	rows := make([]Row, 0, len(order))
	for _, name := range order {
		var rps, p50, p99, rpsRatio, p99Ratio []float64
		for _, r := range byName[name] {
			rps = append(rps, r.RPS())
			p50 = append(p50, float64(r.Latency.Quantile(0.5)))
			p99 = append(p99, float64(r.Latency.Quantile(0.99)))
			if base := ref[r.Round]; base != nil && base.RPS() > 0 && base.Latency.Quantile(0.99) > 0 {
				rpsRatio = append(rpsRatio, r.RPS()/base.RPS())
				p99Ratio = append(p99Ratio, float64(r.Latency.Quantile(0.99))/float64(base.Latency.Quantile(0.99)))
			}
		}
		rows = append(rows, Row{
			Contender: name,
			RPS:       spread(rps).Median,
			P50:       time.Duration(spread(p50).Median),
			P99:       time.Duration(spread(p99).Median),
			RPSRatio:  spread(rpsRatio),
			P99Ratio:  spread(p99Ratio),
			Rounds:    len(byName[name]),
		})
	}
	return rows
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WriteTable writes rows as a Markdown table, each named by the Title of its
// contender in cs (its Name where cs has none).
func WriteTable(w io.Writer, rows []Row, cs []Contender) {
	titles := map[string]string{}
	for _, c := range cs {
		titles[c.Name] = c.Title
	}
	fmt.Fprintf(w, "| server | req/s | req/s vs %s (min–max) | p50 | p99 | p99 vs %s (min–max) |\n", Reference, Reference)
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		name := r.Contender
		if t := titles[name]; t != "" {
			name = t
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s |\n",
			name, r.RPS, r.RPSRatio, formatLatency(r.P50), formatLatency(r.P99), r.P99Ratio)
	}
}

func (s Spread) String() string {
	return fmt.Sprintf("%.2fx (%.2f–%.2f)", s.Median, s.Min, s.Max)
}

// formatLatency rounds d to three significant digits.
func formatLatency(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// WriteRaw writes one line per run, for results files.
func WriteRaw(w io.Writer, runs []Run) {
	for _, r := range runs {
		fmt.Fprintf(w, "round=%d contender=%s rps=%.1f p50=%v p99=%v max=%v requests=%d dials=%d elapsed=%v\n",
			r.Round, r.Contender, r.RPS(), r.Latency.Quantile(0.5), r.Latency.Quantile(0.99), r.Latency.Max(),
			r.Requests, r.Dials, r.Elapsed)
	}
}

// ReplaceSection returns doc with what lies between the lines begin and end
// (markers such as "<!-- e2e:begin -->") replaced by text.
func ReplaceSection(doc []byte, begin, end, text string) ([]byte, error) {
	b := bytes.Index(doc, []byte(begin))
	e := bytes.Index(doc, []byte(end))
	if b < 0 || e < b {
		return nil, fmt.Errorf("e2e: no %q ... %q section", begin, end)
	}
	var out bytes.Buffer
	out.Write(doc[:b+len(begin)])
	out.WriteString("\n")
	out.WriteString(text)
	out.Write(doc[e:])
	return out.Bytes(), nil
}
