package memcached

// StepHealth gives s's servers' health a callClock (see stepClock) and
// returns its step, which moves it on a quarter of errorWindow: for the
// tests of package memcached_test, whose loops count steps, not seconds.
func StepHealth(s *Store) (step func()) { return stepClock(s).step }
