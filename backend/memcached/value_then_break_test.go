package memcached

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// Regression: a reply whose first line was a VALUE line marked the server
// up (answered) as soon as its first bytes came, before the reply broke
// or stopped coming: every such call counted one failure after its
// answer, and a server whose every get reply breaks, or stops within its
// data (a proxy whose upstream dies mid-value, a server stuck writing),
// was never marked down; each call for its keys waited for the break, or
// for Options.Timeout. Its replies are failures: after serverDownAfter of
// them the server is marked down, its keys refused at once.
func TestReplyBrokenAfterValueLineMarksServerDown(t *testing.T) {
	for name, reply := range map[string]string{
		"data stops":     "VALUE fake:1:k 0 10 1\r\nabc",
		"data ends late": "VALUE fake:1:k 0 3 1\r\nabcXY\r\nEND\r\n",
		"line breaks":    "VALUE fake:1:k 0 3 1\r\nabc\r\nVALUE fake:1:k x\r\n",
		"no end":         "VALUE fake:1:k 0 3 1\r\nabc\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			requests := 0
			s, split, _ := scriptStore(t, func(string) string { requests++; return reply })
			*split = func(b []byte) [][]byte { return chunksOf(b, 5) }
			for i := range serverDownAfter {
				_, err := s.Get(context.Background(), "k")
				require.Error(t, err, "get %d", i)
			}
			before := requests
			_, err := s.Get(context.Background(), "k")
			require.ErrorContains(t, err, "marked down", "after %d broken replies", serverDownAfter)
			_, err = s.GetMany(context.Background(), []string{"k", "k2"})
			require.ErrorContains(t, err, "marked down")
			require.Equal(t, before, requests, "requests sent to the server marked down")
		})
	}
}
