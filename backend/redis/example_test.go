package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// A Store from a URL: the Store builds the client, with fail-fast
// timeouts, and closes it on Close.
func ExampleNew_url() {
	b, err := redisstore.New(redisstore.Options{
		URL:    "redis://:password@localhost:6379/0?pool_size=20",
		Prefix: "shop:",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ctx := context.Background()
	if err := b.Set(ctx, "greeting", []byte("hello"), 5*time.Minute); err != nil {
		log.Print(err) // Redis is down: the caller serves without the cache
		return
	}
	v, err := b.Get(ctx, "greeting")
	fmt.Println(string(v), err)
}

// A Store from a URL naming a Redis Cluster by some of its nodes, or a
// Sentinel deployment by its Sentinels and master name.
func ExampleNew_clusterURL() {
	cluster := redisstore.Must(redisstore.Options{URL: "redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000"})
	defer cluster.Close()
	sentinel := redisstore.Must(redisstore.Options{URL: "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster/0?password=secret"})
	defer sentinel.Close()
}

// A Store on a Cluster client the program already has. The Store uses
// it as configured and leaves it open on Close: its owner closes it. New
// refuses a client without ContextTimeoutEnabled, whose calls would not end
// at their context's deadline (a Cache's Options.Timeout).
func ExampleNew_clusterClient() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"},
		DialTimeout:           500 * time.Millisecond,
		ReadTimeout:           500 * time.Millisecond,
		ContextTimeoutEnabled: true, // calls end at their context's deadline
	})
	defer client.Close()

	b, err := redisstore.New(redisstore.Options{Client: client, Prefix: "catalog:"})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	// Keys on several masters: one MGET per hash slot, one round trip per
	// node, concurrently.
	vals, err := b.GetMany(context.Background(), []string{"product:1", "product:2", "tag:products"})
	fmt.Println(len(vals), err)
}
