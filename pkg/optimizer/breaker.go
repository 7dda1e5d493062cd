package optimizer

import "time"

// breaker switches a module off after failures in a row: for cooldown at
// first, doubling up to maxCooldown while the first call after each pause
// fails again. One success closes it.
type breaker struct {
	threshold             int
	cooldown, maxCooldown time.Duration

	inARow   int
	trips    int
	offUntil time.Time
}

// allow reports whether a call may go ahead now, and if not until when the
// module is off.
func (b *breaker) allow(now time.Time) (bool, time.Time) {
	if now.Before(b.offUntil) {
		return false, b.offUntil
	}
	return true, time.Time{}
}

func (b *breaker) success() {
	b.inARow, b.trips, b.offUntil = 0, 0, time.Time{}
}

// failure counts a failure and reports whether it switched the module off.
// After a pause the count stays at the threshold, so the first new failure
// switches it off again, for longer.
func (b *breaker) failure(now time.Time) bool {
	b.inARow++
	if b.inARow < b.threshold {
		return false
	}
	pause := b.cooldown
	for i := 0; i < b.trips && pause < b.maxCooldown; i++ {
		pause *= 2
	}
	b.offUntil = now.Add(min(pause, b.maxCooldown))
	b.trips++
	return true
}
