package redisstore

import "github.com/redis/go-redis/v9"

// SlotOf is slotOf, for the external tests.
var SlotOf = slotOf

// SlotsCluster is slotsCluster, for the external tests.
var SlotsCluster = slotsCluster

// SetErrNoRetry sets err on cmd as go-redis does after a try of a command
// the Store sends wrapped in a noRetry type, for the external tests.
func SetErrNoRetry(cmd *redis.StatusCmd, err error) { noRetryStatusCmd{cmd}.SetErr(err) }
