package workflows

import (
	"slices"
	"time"
)

// maxCalendarDays bounds the walk of Add, so a calendar with no usable
// window cannot loop forever: past it, the deadline is the plain sum.
const maxCalendarDays = 3 * 366

// Add returns the moment d of business time after from. A nil calendar
// counts every hour; so does one whose zone cannot be loaded. Deterministic:
// it depends only on its arguments and the zone database, which workers
// embed (time/tzdata).
func (c *Calendar) Add(from time.Time, d time.Duration) time.Time {
	loc := c.location()
	if loc == nil {
		return from.Add(d)
	}
	t := from.In(loc)
	for day := 0; day < maxCalendarDays; day++ {
		start, end := c.window(t)
		if slices.Contains(c.Days, t.Weekday()) && t.Before(end) {
			if t.Before(start) {
				t = start
			}
			if left := end.Sub(t); d <= left {
				return t.Add(d).In(from.Location())
			} else {
				d -= left
			}
		}
		t = midnight(t).AddDate(0, 0, 1)
	}
	return from.Add(d)
}

// Elapsed returns the business time between from and to (zero if to is not
// after from).
func (c *Calendar) Elapsed(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	loc := c.location()
	if loc == nil {
		return to.Sub(from)
	}
	var sum time.Duration
	t := from.In(loc)
	for day := 0; day < maxCalendarDays && t.Before(to); day++ {
		start, end := c.window(t)
		if slices.Contains(c.Days, t.Weekday()) {
			a, b := later(t, start), earlier(to.In(loc), end)
			if b.After(a) {
				sum += b.Sub(a)
			}
		}
		t = midnight(t).AddDate(0, 0, 1)
	}
	return sum
}

func (c *Calendar) location() *time.Location {
	if c == nil || len(c.Days) == 0 || c.Start >= c.End {
		return nil
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return nil
	}
	return loc
}

// window returns the business window of t's day.
func (c *Calendar) window(t time.Time) (start, end time.Time) {
	m := midnight(t)
	y, mo, d := m.Date()
	start = time.Date(y, mo, d, c.Start/60, c.Start%60, 0, 0, t.Location())
	end = time.Date(y, mo, d, c.End/60, c.End%60, 0, 0, t.Location())
	if c.End == 24*60 {
		end = time.Date(y, mo, d+1, 0, 0, 0, 0, t.Location())
	}
	return start, end
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
