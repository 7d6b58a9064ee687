package redisstore

import (
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
)

// TestExtraMasterAddress: an extra master's address is turned as go-redis
// turned the visited masters' (CLUSTER SLOTS): loopback host to the seed's
// host, port 0 to the seed's port, hostname when go-redis dials hostnames.
func TestExtraMasterAddress(t *testing.T) {
	const extra = "cccc"
	cases := []struct {
		name, nodes, visitedAddr, want string
	}{
		{"as announced", "aaaa 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383\n" +
			"cccc 10.0.0.3:7002@17002 master - 0 0 3 connected\n", "10.0.0.1:7000", "10.0.0.3:7002"},
		{"loopback announced, seed elsewhere", "aaaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383\n" +
			"cccc 127.0.0.1:7002@17002 master - 0 0 3 connected\n", "db.example:7000", "db.example:7002"},
		{"loopback seen from loopback", "aaaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383\n" +
			"cccc 127.0.0.1:7002@17002 master - 0 0 3 connected\n", "127.0.0.1:7000", "127.0.0.1:7002"},
		{"hostnames", "aaaa 10.0.0.1:7000@17000,n1.example myself,master - 0 0 1 connected 0-16383\n" +
			"cccc 10.0.0.3:7002@17002,n3.example master - 0 0 3 connected\n", "n1.example:7000", "n3.example:7002"},
		{"hostnames not dialed", "aaaa 10.0.0.1:7000@17000,n1.example myself,master - 0 0 1 connected 0-16383\n" +
			"cccc 10.0.0.3:7002@17002,n3.example master - 0 0 3 connected\n", "10.0.0.1:7000", "10.0.0.3:7002"},
		{"TLS only: port 0", "aaaa 10.0.0.1:0@17000 myself,master - 0 0 1 connected 0-16383\n" +
			"cccc 10.0.0.3:0@17002 master - 0 0 3 connected\n", "10.0.0.1:6380", "10.0.0.3:6380"},
		{"IPv6", "aaaa ::1:7000@17000 myself,master - 0 0 1 connected 0-16383\n" +
			"cccc fd00::3:7002@17002 master - 0 0 3 connected\n", "[::1]:7000", "[fd00::3]:7002"},
	}
	for _, c := range cases {
		entries := parseClusterNodes(c.nodes)
		r := learnRewrite(entries, map[string]string{"aaaa": c.visitedAddr})
		for _, e := range entries {
			if e.id == extra {
				assert.Equal(t, c.want, r.extraAddr(e, hostOf(c.visitedAddr)), c.name)
			}
		}
	}
}

// TestExtraMastersByID: a master CLUSTER NODES lists is an extra one only
// if no visited master has its id, whatever address it announces; none is
// told while a visited master's id is unknown.
func TestExtraMastersByID(t *testing.T) {
	nodes := "aaaa 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-8000\n" +
		"bbbb 127.0.0.1:7001@17001 master - 0 0 2 connected 8001-16383\n" +
		"cccc 127.0.0.1:7002@17002 master - 0 0 3 connected\n" +
		"dddd 127.0.0.1:7003@17003 master,fail - 0 0 4 connected\n" +
		"eeee 127.0.0.1:7004@17004 slave aaaa 0 0 1 connected\n"
	o := func(addr string) *redis.Options { return &redis.Options{Addr: addr} }
	v := &clusterView{nodes: nodes, host: "10.0.0.1",
		opts: map[string]*redis.Options{"10.0.0.1:7000": o("10.0.0.1:7000"), "10.0.0.1:7001": o("10.0.0.1:7001")},
		ids:  map[string]string{"10.0.0.1:7000": "aaaa", "10.0.0.1:7001": "bbbb"},
	}
	extras, known, err := v.extras()
	assert.True(t, known)
	assert.NoError(t, err)
	assert.Len(t, extras, 1)
	if assert.Contains(t, extras, "cccc") {
		assert.Equal(t, "10.0.0.1:7002", extras["cccc"].Addr)
	}

	v.ids["10.0.0.1:7001"] = ""
	v.failed = []error{errors.New("CLUSTER MYID on 10.0.0.1:7001: i/o timeout")}
	extras, known, err = v.extras()
	assert.False(t, known, "a visited master's id unknown")
	assert.Empty(t, extras)
	assert.ErrorContains(t, err, "CLUSTER MYID on 10.0.0.1:7001", "an id that failed is an error")

	v.failed, v.refused = nil, true
	extras, known, err = v.extras()
	assert.False(t, known, "a visited master's id refused")
	assert.Empty(t, extras)
	assert.NoError(t, err, "a refusal (NOPERM) is not an error")

	v.ids["10.0.0.1:7001"], v.refused = "bbbb", false
	v.nodes, v.nodesErr = "", errors.New("CLUSTER NODES on 10.0.0.1:7000: i/o timeout")
	extras, known, err = v.extras()
	assert.False(t, known, "CLUSTER NODES unknown")
	assert.Empty(t, extras)
	assert.ErrorContains(t, err, "CLUSTER NODES", "a CLUSTER NODES that failed is an error")
}

func TestRefusedClusterCmd(t *testing.T) {
	for msg, want := range map[string]bool{
		"NOPERM User u has no permissions to run the 'cluster|myid' command": true,
		"ERR unknown subcommand 'myid'. Try CLUSTER HELP.":                   true,
		"ERR unknown command 'cluster', with args beginning with: 'myid' ":   true,
		"i/o timeout": false,
		"LOADING Redis is loading the dataset in memory": false,
		"ERR This instance has cluster support disabled": false,
	} {
		assert.Equal(t, want, refusedClusterCmd(errors.New(msg)), msg)
	}
}
