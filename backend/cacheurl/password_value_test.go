package cacheurl_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/cacheurl"
)

// TestPasswordTailValueNotShown: a password with a raw "&pool_size=" in it
// split the query so that its tail became pool_size's value, and the error
// quoted that value ("want an integer ...; got \"TopSecretTail\""). In a URL
// with a password, an error names the known parameter and says what it
// wants, but quotes no value; without a password it still quotes it.
func TestPasswordTailValueNotShown(t *testing.T) {
	const tail = "TopSecretTail"
	for _, u := range []string{
		"redis+sentinel://127.0.0.1:26379/mymaster?password=abc&pool_size=" + tail,
		"redis://127.0.0.1:6379/0?password=abc&read_timeout=" + tail,
		"redis://:abc@127.0.0.1:6379/0?dial_timeout=" + tail,
		"redis://127.0.0.1:6379/0?password=abc&near=" + tail,
	} {
		t.Run(u, func(t *testing.T) {
			b, err := cacheurl.Open(u)
			if err == nil {
				require.NoError(t, b.Close())
			}
			require.Error(t, err)
			var e *cacheurl.Error
			require.True(t, errors.As(err, &e), "%T: %v", err, err)
			assert.NotEmpty(t, e.Param, "the known parameter is still named")
			assert.Contains(t, err.Error(), "want ")
			assert.NotContains(t, err.Error(), tail)
		})
	}
	_, err := cacheurl.Open("redis://127.0.0.1:6379/0?pool_size=" + tail)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `got "`+tail+`"`, "without a password the value is quoted")
}
