package cacheurl_test

// Tests on real servers: .ci/services.sh starts Redis, the Cluster, Sentinel
// and memcached; the TLS and Unix-socket Redis servers are the tests' own.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/cacheurl"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unique returns a name no other test run uses, for key prefixes and
// namespaces on the shared servers.
func unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// open opens raw and checks that it is the kind of store wanted.
func open(t *testing.T, raw string, want backend.Backend) backend.Backend {
	t.Helper()
	b, err := cacheurl.Open(raw)
	require.NoError(t, err, cacheurl.Redact(raw))
	assert.IsType(t, want, b)
	return b
}

func TestOpenRedis(t *testing.T) {
	addr := testutil.RedisAddr(t)
	prefix := unique("cacheurl-test:") + ":" // the Store appends the ':' otherwise
	b := open(t, "redis://"+addr+"/2?prefix="+prefix+"&dial_timeout=1s&read_timeout=2&pool_size=4&max_retries=-1&client_name=cacheurl-test", &redisstore.Store{})
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "k", []byte("v"), time.Minute))

	// The value is in database 2, under the prefix.
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: 2})
	defer rdb.Close()
	defer rdb.Del(ctx, prefix+"k")
	n, err := rdb.Exists(ctx, prefix+"k").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "the key is in database 2 under the prefix")
	// go-redis's own parameters reach the client.
	clients, err := rdb.ClientList(ctx).Result()
	require.NoError(t, err)
	assert.Contains(t, clients, "name=cacheurl-test ")
	roundTrip(t, b)
}

func TestOpenRedisCluster(t *testing.T) {
	addrs := testutil.RedisClusterAddrs(t)
	b := open(t, "redis+cluster://"+strings.Join(addrs, ",")+"?prefix="+unique("cacheurl-test:")+"&route_randomly=false&max_redirects=3", &redisstore.Store{})
	roundTrip(t, b)
}

func TestOpenRedisSentinel(t *testing.T) {
	addr, master := testutil.RedisSentinel(t)
	b := open(t, "redis+sentinel://"+addr+"/"+master+"/0?prefix="+unique("cacheurl-test:")+"&dial_timeout=1s", &redisstore.Store{})
	roundTrip(t, b)
}

func TestOpenRedisUnixSocket(t *testing.T) {
	sock := filepath.Join(shortTempDir(t), "redis.sock")
	testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--unixsocket", sock,
			"--unixsocketperm", "700", "--save", "", "--appendonly", "no"}
	})
	// StartProcess waits for the TCP port; the socket may come a moment
	// later, and its file exists between the server's bind and its listen,
	// when a connection is still refused: wait until one is accepted.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server's socket never accepted a connection: %v", err)
		}
	}
	b := open(t, "unix://"+sock+"?db=1&prefix=p:", &redisstore.Store{})
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "k", []byte("v"), time.Minute))
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, DB: 1})
	defer rdb.Close()
	got, err := rdb.Get(ctx, "p:k").Bytes()
	require.NoError(t, err, "the value is in database 1 of the socket's server")
	assert.NotEmpty(t, got)
	roundTrip(t, b)
}

// shortTempDir is a temporary directory with a path short enough for a Unix
// socket (108 bytes at most), which t.TempDir's need not be.
func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "cu")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestOpenRedisTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, cert, key)
	srv := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", cert,
			"--tls-auth-clients", "no", "--save", "", "--appendonly", "no"}
	})
	// The server's certificate is self-signed: skip_verify=true trusts it...
	// A long dial timeout: on a loaded machine the default one can end
	// before the handshake, and the refusal below would not be the
	// certificate's.
	b := open(t, "rediss://"+srv.Addr+"/0?skip_verify=true&prefix=p:&dial_timeout=10s", &redisstore.Store{})
	roundTrip(t, b)

	// ...and without it the client verifies it, and refuses.
	b = open(t, "rediss://"+srv.Addr+"/0?dial_timeout=10s", &redisstore.Store{})
	defer b.Close()
	err := b.Set(context.Background(), "k", []byte("v"), time.Minute)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")

	// Plain redis:// to a TLS port fails too: the scheme chooses TLS.
	b = open(t, "redis://"+srv.Addr+"/0?max_retries=-1", &redisstore.Store{})
	defer b.Close()
	assert.Error(t, b.Set(context.Background(), "k", []byte("v"), time.Minute))
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cacheurl-test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(priv)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
}

func TestOpenMemcached(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	ns := unique("cacheurl-test-")
	b := open(t, "memcached://"+strings.Join(addrs, ",")+"?namespace="+ns+"&timeout=1s&max_idle_conns=4&max_item_size=2MiB&generation_ttl=-1", &memcached.Store{})
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "k", []byte("v"), time.Minute))

	// Another namespace on the same servers does not see it.
	other := open(t, "memcached://"+strings.Join(addrs, ",")+"?namespace="+ns+"-other", &memcached.Store{})
	defer other.Close()
	_, err := other.Get(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	roundTrip(t, b)
}

// TestOpenMemcachedDefaultPort: a host without a port gets memcached's.
func TestOpenMemcachedDefaultPort(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	if !strings.HasSuffix(addrs[0], ":11211") {
		t.Skipf("the first memcached server is not on port 11211: %s", addrs[0])
	}
	host, _, err := net.SplitHostPort(addrs[0])
	require.NoError(t, err)
	b := open(t, "memcached://"+host+"?namespace="+unique("cacheurl-test-"), &memcached.Store{})
	roundTrip(t, b)
}

// TestOpenNear: near=1 puts a near cache in front of a remote store, with
// the near_* parameters.
func TestOpenNear(t *testing.T) {
	for name, raw := range map[string]string{
		"redis":     "redis://" + testutil.RedisAddr(t) + "?prefix=" + unique("cacheurl-test:") + "&near=1&near_max_stale=250ms&near_max_entries=1000&near_max_bytes=8MiB",
		"memcached": "memcached://" + strings.Join(testutil.MemcachedAddrs(t), ",") + "?namespace=" + unique("cacheurl-test-") + "&near=true",
		"file":      "file://" + filepath.ToSlash(t.TempDir()) + "?near=1",
	} {
		t.Run(name, func(t *testing.T) {
			b := open(t, raw, &near.Store{})
			defer b.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, b.(*near.Store).WaitWatching(ctx))
			roundTrip(t, b)
		})
	}
	b := open(t, "redis://"+testutil.RedisAddr(t)+"?near=0", &redisstore.Store{})
	_ = b.Close()
}
