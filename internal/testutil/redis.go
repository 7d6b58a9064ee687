package testutil

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// KillRedisClients kills the connections to the Redis server at addr whose
// client name is name (CLIENT KILL ID), and returns how many it killed.
func KillRedisClients(t testing.TB, addr, name string) int {
	t.Helper()
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	list, err := client.ClientList(ctx).Result()
	if err != nil {
		t.Fatalf("CLIENT LIST on %s: %v", addr, err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		fields := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] == name {
			if err := client.Do(ctx, "CLIENT", "KILL", "ID", fields["id"]).Err(); err != nil {
				t.Fatalf("CLIENT KILL on %s: %v", addr, err)
			}
			killed++
		}
	}
	return killed
}
