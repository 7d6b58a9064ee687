package redisstore

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// batch is one multi-key command and where its keys came from.
type batch[C redis.Cmder] struct {
	idx []int // positions in the caller's keys; nil: all of them, in order
	cmd C
}

// index returns the caller's position of the command's i-th key.
func (bt batch[C]) index(i int) int {
	if bt.idx == nil {
		return i
	}
	return bt.idx[i]
}

// keys returns the keys with the Store's prefix. They share one string,
// so that a call costs two allocations, not one per key.
func (b *Store) keys(keys []string) []string {
	n := 0
	for _, k := range keys {
		n += len(b.prefix) + len(k)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, k := range keys {
		sb.WriteString(b.prefix)
		sb.WriteString(k)
	}
	all := sb.String()
	full := make([]string, len(keys))
	for i, k := range keys {
		n := len(b.prefix) + len(k)
		full[i], all = all[:n], all[n:]
	}
	return full
}

// each sends mk's command for as few batches of full keys as the server
// allows: one for a single node, one per hash slot on a Cluster, one per key
// on other clients. Several batches go in one pipeline: one round trip per
// node (go-redis sends a Cluster pipeline to its nodes concurrently). The
// error is the first command's that failed. write is nil for reads; for
// a write it is the call's blame (see blame): mk's commands are then
// idempotent writes that mk queues wrapped in a noRetry type on a
// pipeline, and the pipeline is run by execIdempotent, with a Cluster's
// retry policy (go-redis retries no other client's pipeline), which fills
// *write.
func each[C redis.Cmder](ctx context.Context, b *Store, full []string, write *blame, mk func(c redis.Cmdable, keys []string) C) ([]batch[C], error) {
	var groups [][]int
	switch {
	case b.mode == modeSingle || len(full) == 1:
	case b.mode == modeCluster:
		groups = bySlot(full)
	default:
		groups = make([][]int, len(full))
		for i := range full {
			groups[i] = []int{i}
		}
	}
	if len(groups) <= 1 {
		cmd := mk(b.client, full)
		return []batch[C]{{cmd: cmd}}, cmd.Err()
	}
	pipe := b.client.Pipeline()
	out := make([]batch[C], len(groups))
	for i, g := range groups {
		keys := make([]string, len(g))
		for j, k := range g {
			keys[j] = full[k]
		}
		out[i] = batch[C]{idx: g, cmd: mk(pipe, keys)}
	}
	if write != nil {
		var p retryPolicy
		if b.mode == modeCluster {
			p = b.retry
		}
		return out, b.execIdempotent(ctx, pipe, p, false, write)
	}
	_, err := pipe.Exec(ctx)
	return out, err
}

// bySlot groups the positions of keys by hash slot, in order of first
// appearance, in time linear in the keys (a list searched per key was
// quadratic for a call whose keys spread over many slots).
func bySlot(keys []string) [][]int {
	at := make(map[int]int) // slot -> index in groups
	var groups [][]int
	for i, k := range keys {
		s := slot(k)
		j, ok := at[s]
		if !ok {
			j = len(groups)
			at[s] = j
			groups = append(groups, nil)
		}
		groups[j] = append(groups[j], i)
	}
	return groups
}
