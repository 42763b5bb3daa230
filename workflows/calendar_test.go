package workflows

import (
	"testing"
	"time"
)

func TestCalendar_AddCountsOnlyBusinessHours(t *testing.T) {
	cal := &Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{1, 2, 3, 4, 5}, Start: 9 * 60, End: 17 * 60}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, berlin) }
	cases := []struct {
		name string
		from time.Time
		d    time.Duration
		want time.Time
	}{
		{"inside the day", at(23, 10, 0), 2 * time.Hour, at(23, 12, 0)}, // Monday
		{"before opening", at(23, 7, 0), time.Hour, at(23, 10, 0)},
		{"spills into the next day", at(23, 16, 0), 2 * time.Hour, at(24, 10, 0)},
		{"friday evening to monday", at(27, 16, 30), time.Hour, at(30, 9, 30)},
		{"weekend start", at(28, 12, 0), 30 * time.Minute, at(30, 9, 30)},
		{"exactly to closing", at(23, 9, 0), 8 * time.Hour, at(23, 17, 0)},
		{"a whole week", at(23, 9, 0), 40 * time.Hour, at(27, 17, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := cal.Add(c.from, c.d)
			if !got.Equal(c.want) {
				t.Fatalf("Add(%s, %s) = %s, want %s", c.from, c.d, got, c.want)
			}
			if back := cal.Elapsed(c.from, got); back != c.d {
				t.Fatalf("Elapsed back = %s, want %s", back, c.d)
			}
		})
	}
}

func TestCalendar_NilCountsEveryHour(t *testing.T) {
	var cal *Calendar
	from := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	if got := cal.Add(from, 3*time.Hour); !got.Equal(from.Add(3 * time.Hour)) {
		t.Fatalf("nil calendar Add = %s", got)
	}
	if got := cal.Elapsed(from, from.Add(time.Hour)); got != time.Hour {
		t.Fatalf("nil calendar Elapsed = %s", got)
	}
}

func TestCalendar_DaylightSavingDay(t *testing.T) {
	// 2026-03-29: clocks in Berlin jump from 02:00 to 03:00; a 24h calendar
	// on that Sunday holds 23 hours.
	cal := &Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{0}, Start: 0, End: 24 * 60}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := time.Date(2026, 3, 29, 0, 0, 0, 0, berlin)
	if got := cal.Elapsed(day, day.AddDate(0, 0, 1)); got != 23*time.Hour {
		t.Fatalf("business time on the DST day = %s, want 23h", got)
	}
}
