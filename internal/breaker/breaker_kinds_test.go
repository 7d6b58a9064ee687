package breaker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/breaker"
)

// TestSuccessOfOneKindDoesNotHideFailuresOfAnother: a success reset the
// count of every failure, so a dependency that answered its reads and
// failed every write (a read, a read, a failed write, over and over) never
// had Threshold failures in a row, and the breaker never opened.
func TestSuccessOfOneKindDoesNotHideFailuresOfAnother(t *testing.T) {
	b, _, rec := newBreaker(t, 3)
	for range 2 {
		for _, k := range []breaker.Kind{read, read} {
			assert.True(t, b.Allow())
			b.Success(k)
		}
		assert.True(t, b.Allow())
		b.Failure(write)
	}
	assert.Equal(t, breaker.Closed, b.State(), "two failures of writes")
	b.Success(read)
	assert.True(t, b.Allow())
	b.Failure(write)
	assert.Equal(t, breaker.Open, b.State(), "the third failure of a write, whatever the reads did")
	assert.Equal(t, []string{"closed>open"}, rec.take())
}

// TestSuccessOfItsKindResetsTheCount: a success of the failing kind does
// reset its count, and consecutive failures of mixed kinds still open the
// breaker.
func TestSuccessOfItsKindResetsTheCount(t *testing.T) {
	b, _, _ := newBreaker(t, 3)
	for range 5 {
		b.Failure(write)
		b.Failure(write)
		b.Success(write)
	}
	assert.Equal(t, breaker.Closed, b.State(), "never three write failures in a row")
	b.Failure(read)
	b.Failure(write)
	b.Failure(read)
	assert.Equal(t, breaker.Open, b.State(), "three failures in a row, of any kinds")
}

// TestProbeOfAnotherKindClosesOnProbation: a probe that succeeds closes the
// breaker; one of another kind than the failures that opened it says
// nothing of them, so the first failure of that kind opens it again, until
// a call of that kind succeeds.
func TestProbeOfAnotherKindClosesOnProbation(t *testing.T) {
	b, clk, rec := newBreaker(t, 3)
	for range 3 {
		b.Failure(write)
	}
	clk.Advance(cooldown)
	assert.True(t, b.Allow())
	b.Success(read)
	assert.Equal(t, breaker.Closed, b.State())
	b.Success(read)
	b.Failure(write)
	assert.Equal(t, breaker.Open, b.State(), "on probation: one failure of a write opens it again")
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed", "closed>open"}, rec.take())

	clk.Advance(cooldown)
	assert.True(t, b.Allow())
	b.Success(read)
	b.Success(write) // a write answers: the probation is over
	b.Failure(write)
	b.Failure(write)
	assert.Equal(t, breaker.Closed, b.State(), "off probation: Threshold failures open it")

	b, clk, _ = newBreaker(t, 3)
	for range 3 {
		b.Failure(write)
	}
	clk.Advance(cooldown)
	assert.True(t, b.Allow())
	b.Success(write) // a probe of the kind that failed
	b.Failure(write)
	b.Failure(write)
	assert.Equal(t, breaker.Closed, b.State(), "a probe of the failing kind: no probation")
}
