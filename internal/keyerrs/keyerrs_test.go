package keyerrs

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFailures(t *testing.T) {
	var f Failures
	require.NoError(t, f.Join(nil))
	require.ErrorIs(t, f.Join(context.Canceled), context.Canceled)

	minor, real := errors.New("minor"), errors.New("real")
	f.Add(minor, true)
	require.Equal(t, minor, f.Join(nil))
	f.Add(real, false)
	f.Add(errors.New("later"), false)
	err := f.Join(nil)
	require.ErrorIs(t, err, real, "a real failure replaces a minor first one")
	require.EqualError(t, err, "real (and 2 other keys not deleted)")

	err = f.Join(context.Canceled)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, real)
}
