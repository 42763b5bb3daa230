package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/internal/events"
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

// calendarLoad returns b's process and policy with the team's calendar, as
// LoadProcess does for a team with business hours.
func calendarLoad(b *backend, cal *Calendar) func(context.Context, LoadProcessInput) (LoadProcessResult, error) {
	return func(ctx context.Context, in LoadProcessInput) (LoadProcessResult, error) {
		res, err := b.LoadProcess(ctx, in)
		res.Calendar = cal
		return res, err
	}
}

// A business-hours policy counts the SLA clocks in the team's calendar: a
// ticket opened on Friday at 16:00 with 4 business hours to a first
// response (9-17, Monday to Friday) is due on Monday at 12:00, warns on
// Monday at 11:12 (80%), and nothing fires over the weekend. The deadlines
// the query reports are the same ones.
func TestSLA_BusinessHoursDeadlinesSkipNightsAndWeekends(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, berlin) }
	friday := at(27, 16, 0)
	monday := func(hour, minute int) time.Time { return at(30, hour, minute) }
	tuesday := func(hour, minute int) time.Time { return time.Date(2026, 12, 1, hour, minute, 0, 0, berlin) }

	b := newBackend()
	b.policy = SLAPolicy{FirstResponseSeconds: 4 * 3600, ResolutionSeconds: 16 * 3600, WarnRatio: 0.8, BusinessHours: true}
	cal := &Calendar{TimeZone: "Europe/Berlin", Days: []time.Weekday{1, 2, 3, 4, 5}, Start: 9 * 60, End: 17 * 60}
	h := newHarnessLoading(t, b, calendarLoad(b, cal))
	since := func(t time.Time) time.Duration { return t.Sub(friday) }
	h.snapshot(time.Minute, "opened", RoleAgent)
	h.snapshot(since(at(29, 23, 0)), "sunday night", RoleAgent)
	h.snapshot(since(monday(11, 11)), "before warning", RoleAgent)
	h.snapshot(since(monday(11, 13)), "warned", RoleAgent)
	h.snapshot(since(monday(12, 1)), "breached", RoleAgent)
	_ = h.runOpenedAt(friday, since(tuesday(18, 0)))

	// Friday 16-17 is one hour; Monday 9-12 the other three. Resolution:
	// Friday 1 h, Monday 8 h, Tuesday 9-16 the last 7 h.
	wantFirst, wantResolution := monday(12, 0), tuesday(16, 0)
	s := h.states["opened"]
	if s.Calendar == nil || !s.Policy.BusinessHours {
		t.Fatalf("the run did not keep the calendar: calendar %v policy %+v", s.Calendar, s.Policy)
	}
	if s.FirstResponse.Due == nil || !s.FirstResponse.Due.Equal(wantFirst) {
		t.Fatalf("first response due %v, want %s", s.FirstResponse.Due, wantFirst)
	}
	if s.Resolution.Due == nil || !s.Resolution.Due.Equal(wantResolution) {
		t.Fatalf("resolution due %v, want %s", s.Resolution.Due, wantResolution)
	}
	if s := h.states["sunday night"]; s.FirstResponse.Warned || s.FirstResponse.Breached || s.Resolution.Warned {
		t.Fatalf("over the weekend: first response %+v resolution %+v", s.FirstResponse, s.Resolution)
	}
	if s := h.states["before warning"]; s.FirstResponse.Warned {
		t.Fatal("warned before 80% of the business time")
	}
	if s := h.states["warned"]; !s.FirstResponse.Warned || s.FirstResponse.Breached {
		t.Fatalf("Monday 11:13: %+v", s.FirstResponse)
	}
	br := h.states["breached"]
	if !br.FirstResponse.Breached || br.FirstResponse.Due == nil || !br.FirstResponse.Due.Equal(wantFirst) || !br.Escalated {
		t.Fatalf("Monday 12:01: %+v escalated %v", br.FirstResponse, br.Escalated)
	}

	type fired struct {
		kind string
		at   time.Time
	}
	var got []fired
	for _, typ := range []string{events.SLAWarning, events.SLABreached} {
		for _, e := range slaEventsOf(t, b, typ) {
			got = append(got, fired{typ + " " + e.Kind, e.at})
			if typ == events.SLABreached && e.Kind == "first_response" && !e.Due.Equal(wantFirst) {
				t.Errorf("sla.breached due %s, want %s", e.Due, wantFirst)
			}
		}
	}
	want := []fired{
		{events.SLAWarning + " first_response", monday(11, 12)},
		{events.SLAWarning + " resolution", tuesday(12, 48)}, // 12.8 h: Friday 1, Monday 8, Tuesday 3.8
		{events.SLABreached + " first_response", wantFirst},
		{events.SLABreached + " resolution", wantResolution},
	}
	if len(got) != len(want) {
		t.Fatalf("SLA events = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].kind != want[i].kind || !got[i].at.Equal(want[i].at) {
			t.Errorf("SLA event %d = %s at %s, want %s at %s", i, got[i].kind, got[i].at.In(berlin), want[i].kind, want[i].at)
		}
	}
}
