package redisstore

// SlotOf is slotOf, for the external tests.
var SlotOf = slotOf

// SlotsCluster is slotsCluster, for the external tests.
var SlotsCluster = slotsCluster
