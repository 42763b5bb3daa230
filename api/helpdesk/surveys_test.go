package helpdesk_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
)

const surveySecret = "test-survey-secret-0123456789"

// surveyEnv is a helpdesk with survey links, a requester, an agent and a
// ticket of the requester's handled by the agent.
type surveyEnv struct {
	*env
	requester, agent, admin person
	ticket                  helpdesk.Ticket
	team                    string
}

func newSurveyEnv(t *testing.T) *surveyEnv {
	t.Helper()
	e := newEnv(t)
	links, err := helpdesk.NewSurveyLinks(surveySecret, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.svc.WithSurveyLinks(links)
	s := &surveyEnv{env: e, requester: e.user("Rita Requester", authn.RoleEmployee),
		agent: e.user("Andy Agent", authn.RoleAgent), admin: e.user("Ada Admin", authn.RoleAdmin), team: uuid.NewString()}
	s.ticket = e.ticket(s.requester, e.category("Printers"), "Printer on fire")
	return s
}

// move records a step as the workflow engine does.
func (s *surveyEnv) move(step, status string) {
	s.t.Helper()
	s.setState(s.ticket.ID, map[string]any{"change_id": uuid.NewString(), "step": step, "status": status, "assignee_id": s.agent.id})
}

// ask is the workflow asking for a rating with key; it returns the answer.
func (s *surveyEnv) ask(key string) response {
	s.t.Helper()
	return s.do("POST", "/helpdesk/internal/tickets/"+s.ticket.ID+"/survey", s.service,
		map[string]any{"request_key": key, "agent_id": s.agent.id, "team_id": s.team})
}

// links returns the link tokens of the survey.requested events so far.
func (s *surveyEnv) links() []string {
	s.t.Helper()
	var out []string
	for _, ev := range s.outboxEvents(events.SurveyRequested) {
		var d helpdesk.SurveyRequestedEvent
		if err := ev.DecodeData(&d); err != nil {
			s.t.Fatal(err)
		}
		if d.TicketID != s.ticket.ID || d.RequesterID != s.requester.id || d.Title != "Printer on fire" || d.ExpiresAt.Before(time.Now().Add(6*24*time.Hour)) {
			s.t.Fatalf("survey.requested = %+v", d)
		}
		out = append(out, d.Token)
	}
	return out
}

func (s *surveyEnv) rateByLink(token, rating, comment string) response {
	s.t.Helper()
	return s.do("POST", "/helpdesk/surveys/rate", "", map[string]string{"token": token, "rating": rating, "comment": comment})
}

func (s *surveyEnv) survey() helpdesk.Survey {
	s.t.Helper()
	var sv helpdesk.Survey
	s.do("GET", "/helpdesk/tickets/"+s.ticket.ID+"/survey", s.requester.token, nil).ok(s.t, http.StatusOK, &sv)
	return sv
}

// forge signs survey claims with secret, as an attacker or a test would.
func forge(t *testing.T, secret string, method jwt.SigningMethod, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	var key any = []byte(secret)
	if method == jwt.SigningMethodNone {
		key = jwt.UnsafeAllowNoneSignatureType
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSurvey_AskedOnceAndRatedByLinkOnce(t *testing.T) {
	t.Parallel()
	s := newSurveyEnv(t)
	s.move("resolved", "resolved")
	var sv helpdesk.Survey
	s.ask("ticket-1/7").ok(t, http.StatusOK, &sv)
	if sv.Status != "pending" || sv.AgentID == nil || *sv.AgentID != s.agent.id || sv.TeamID == nil || *sv.TeamID != s.team {
		t.Fatalf("survey = %+v", sv)
	}
	// A retried ask sends nothing new.
	s.ask("ticket-1/7").ok(t, http.StatusOK, nil)
	links := s.links()
	if len(links) != 1 {
		t.Fatalf("survey.requested events = %d, want 1", len(links))
	}
	if got := s.survey(); got.Status != "pending" || got.Rating != nil {
		t.Fatalf("before rating = %+v", got)
	}

	var res struct{ TicketID, Rating string }
	s.rateByLink(links[0], "good", "  Fixed in minutes  ").ok(t, http.StatusOK, &res)
	got := s.survey()
	if got.Status != "rated" || *got.Rating != "good" || got.Comment != "Fixed in minutes" || got.RatedVia == nil || *got.RatedVia != "link" {
		t.Fatalf("after rating = %+v", got)
	}
	// The link works once; the first rating stands, whichever way a
	// second one comes.
	before := s.rows()
	p := s.rateByLink(links[0], "bad", "changed my mind").problem(t, http.StatusConflict)
	if !strings.Contains(p.Detail, "rated already") {
		t.Fatalf("reused link = %+v", p)
	}
	s.do("POST", "/helpdesk/tickets/"+s.ticket.ID+"/survey", s.requester.token, map[string]string{"rating": "bad"}).problem(t, http.StatusConflict)
	if again := s.survey(); *again.Rating != "good" || again.Comment != "Fixed in minutes" {
		t.Fatalf("after the second rating = %+v", again)
	}
	// Asking again once rated sends nothing: the rating stands.
	s.ask("ticket-1/9").ok(t, http.StatusOK, nil)
	s.unchanged(before)
}

func TestSurvey_RequesterRatesInTheApp(t *testing.T) {
	t.Parallel()
	s := newSurveyEnv(t)
	path := "/helpdesk/tickets/" + s.ticket.ID + "/survey"
	s.move("resolved", "resolved")
	s.ask("k/1").ok(t, http.StatusOK, nil)
	// Staff see the survey; only the requester may answer it.
	s.do("GET", path, s.agent.token, nil).ok(t, http.StatusOK, nil)
	s.do("POST", path, s.agent.token, map[string]string{"rating": "good"}).problem(t, http.StatusNotFound)
	s.do("POST", path, s.admin.token, map[string]string{"rating": "good"}).problem(t, http.StatusNotFound)
	var sv helpdesk.Survey
	s.do("POST", path, s.requester.token, map[string]string{"rating": "bad", "comment": "Took a week"}).ok(t, http.StatusOK, &sv)
	if sv.Status != "rated" || *sv.Rating != "bad" || *sv.RatedVia != "app" || sv.RatedAt == nil {
		t.Fatalf("survey = %+v", sv)
	}
	// The e-mailed link is spent too.
	s.rateByLink(s.links()[0], "good", "").problem(t, http.StatusConflict)
}

func TestSurvey_TamperedExpiredAndForgedLinksChangeNothing(t *testing.T) {
	t.Parallel()
	s := newSurveyEnv(t)
	s.move("resolved", "resolved")
	s.ask("k/1").ok(t, http.StatusOK, nil)
	link := s.links()[0]
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(link, &claims); err != nil {
		t.Fatal(err)
	}
	with := func(changes map[string]any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		for k, v := range changes {
			c[k] = v
		}
		return c
	}
	parts := strings.Split(link, ".")
	flipped := parts[2][:len(parts[2])-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(parts[2], "AA")]
	before := s.rows()
	for name, c := range map[string]struct {
		token  string
		status int
	}{
		"empty":                {"", http.StatusBadRequest},
		"garbage":              {"not-a-token", http.StatusBadRequest},
		"signature changed":    {parts[0] + "." + parts[1] + "." + flipped, http.StatusBadRequest},
		"other ticket claimed": {parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"tid":"`+uuid.NewString()+`"}`)) + "." + parts[2], http.StatusBadRequest},
		"wrong secret":         {forge(t, "another-secret-0123456789", jwt.SigningMethodHS256, claims), http.StatusBadRequest},
		"alg none":             {forge(t, "", jwt.SigningMethodNone, claims), http.StatusBadRequest},
		"wrong audience":       {forge(t, surveySecret, jwt.SigningMethodHS256, with(map[string]any{"aud": "ticketflow"})), http.StatusBadRequest},
		"no expiry":            {forge(t, surveySecret, jwt.SigningMethodHS256, with(map[string]any{"exp": nil})), http.StatusBadRequest},
		"expired":              {forge(t, surveySecret, jwt.SigningMethodHS256, with(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()})), http.StatusForbidden},
		"huge":                 {strings.Repeat("a", 5000), http.StatusBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			s.rateByLink(c.token, "bad", "").problem(t, c.status)
		})
	}
	// A bad rating through a good link is refused as well.
	s.rateByLink(link, "meh", "").problem(t, http.StatusUnprocessableEntity)
	s.rateByLink(link, "good", strings.Repeat("x", helpdesk.MaxSurveyComment+1)).problem(t, http.StatusUnprocessableEntity)
	s.do("POST", "/helpdesk/surveys/rate", "", `{"token": "x", "rating": "good", "extra": 1}`).problem(t, http.StatusBadRequest)
	s.unchanged(before)
	if sv := s.survey(); sv.Status != "pending" {
		t.Fatalf("survey after bad links = %+v", sv)
	}
	// The genuine link still works.
	s.rateByLink(link, "good", "").ok(t, http.StatusOK, nil)
}

func TestSurvey_SomeoneElsesTicketIsNotFound(t *testing.T) {
	t.Parallel()
	s := newSurveyEnv(t)
	s.move("resolved", "resolved")
	s.ask("k/1").ok(t, http.StatusOK, nil)
	other := s.user("Otto Other", authn.RoleEmployee)
	path := "/helpdesk/tickets/" + s.ticket.ID + "/survey"
	before := s.rows()
	s.do("GET", path, other.token, nil).problem(t, http.StatusNotFound)
	s.do("POST", path, other.token, map[string]string{"rating": "bad"}).problem(t, http.StatusNotFound)
	s.do("POST", "/helpdesk/tickets/"+uuid.NewString()+"/survey", s.requester.token, map[string]string{"rating": "bad"}).problem(t, http.StatusNotFound)
	s.do("POST", "/helpdesk/tickets/not-a-uuid/survey", s.requester.token, map[string]string{"rating": "bad"}).problem(t, http.StatusNotFound)
	// A validly signed link naming another requester is no key to this ticket.
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(s.links()[0], &claims); err != nil {
		t.Fatal(err)
	}
	claims["sub"] = other.id
	s.rateByLink(forge(t, surveySecret, jwt.SigningMethodHS256, claims), "bad", "").problem(t, http.StatusNotFound)
	s.unchanged(before)
}

func TestSurvey_TicketNotResolvedIsAConflict(t *testing.T) {
	t.Parallel()
	s := newSurveyEnv(t)
	path := "/helpdesk/tickets/" + s.ticket.ID + "/survey"
	s.move("in_progress", "open")
	before := s.rows()
	s.ask("k/1").problem(t, http.StatusConflict)
	s.do("POST", path, s.requester.token, map[string]string{"rating": "good"}).problem(t, http.StatusConflict)
	if sv := s.survey(); sv.Status != "none" || sv.Rating != nil {
		t.Fatalf("survey before any ask = %+v", sv)
	}
	s.unchanged(before)

	// Asked when resolved, then reopened: neither way rates it now.
	s.move("resolved", "resolved")
	s.ask("k/2").ok(t, http.StatusOK, nil)
	first := s.links()[0]
	s.move("in_progress", "open")
	before = s.rows()
	s.rateByLink(first, "good", "").problem(t, http.StatusConflict)
	s.do("POST", path, s.requester.token, map[string]string{"rating": "good"}).problem(t, http.StatusConflict)
	s.unchanged(before)

	// Resolved again: a new link replaces the first.
	s.move("resolved", "resolved")
	s.ask("k/3").ok(t, http.StatusOK, nil)
	links := s.links()
	if len(links) != 2 {
		t.Fatalf("links = %d, want 2", len(links))
	}
	p := s.rateByLink(first, "good", "").problem(t, http.StatusConflict)
	if !strings.Contains(p.Detail, "replaced") {
		t.Fatalf("old link = %+v", p)
	}
	s.rateByLink(links[1], "good", "").ok(t, http.StatusOK, nil)
	// A closed ticket's survey could still have been answered.
	if sv := s.survey(); sv.Status != "rated" {
		t.Fatalf("survey = %+v", sv)
	}
}

func TestSurvey_OnlyTheWorkflowEngineAsks(t *testing.T) {
	t.Parallel()
	s := newSurveyEnv(t)
	s.move("resolved", "resolved")
	path := "/helpdesk/internal/tickets/" + s.ticket.ID + "/survey"
	body := map[string]any{"request_key": "k/1"}
	before := s.rows()
	s.do("POST", path, s.requester.token, body).problem(t, http.StatusForbidden)
	s.do("POST", path, s.admin.token, body).problem(t, http.StatusForbidden)
	s.do("POST", path, "", body).problem(t, http.StatusUnauthorized)
	s.do("POST", path, s.service, map[string]any{"request_key": ""}).problem(t, http.StatusUnprocessableEntity)
	s.do("POST", path, s.service, map[string]any{"request_key": "k", "agent_id": "bob"}).problem(t, http.StatusUnprocessableEntity)
	s.do("POST", "/helpdesk/internal/tickets/"+uuid.NewString()+"/survey", s.service, body).problem(t, http.StatusNotFound)
	s.unchanged(before)
	if n := s.count(`SELECT count(*) FROM ticket_surveys`); n != 0 {
		t.Fatalf("surveys = %d, want 0", n)
	}
}

func TestSurveyReport_RatingsPerAgentAndTeam(t *testing.T) {
	t.Parallel()
	s := newSurveyEnv(t)
	cat := s.category("Access")
	second := s.user("Bea Agent", authn.RoleAgent)
	rate := func(agent person, team, rating string) {
		tk := s.env.ticket(s.requester, cat, "Ticket for "+agent.name)
		s.setState(tk.ID, map[string]any{"change_id": uuid.NewString(), "step": "resolved", "status": "resolved", "assignee_id": agent.id})
		s.do("POST", "/helpdesk/internal/tickets/"+tk.ID+"/survey", s.service,
			map[string]any{"request_key": tk.ID + "/1", "agent_id": agent.id, "team_id": team}).ok(t, http.StatusOK, nil)
		if rating != "" {
			s.do("POST", "/helpdesk/tickets/"+tk.ID+"/survey", s.requester.token, map[string]string{"rating": rating}).ok(t, http.StatusOK, nil)
		}
	}
	otherTeam := uuid.NewString()
	rate(s.agent, s.team, "good")
	rate(s.agent, s.team, "good")
	rate(s.agent, s.team, "bad")
	rate(second, otherTeam, "bad")
	rate(second, otherTeam, "")

	var rep helpdesk.SurveyReport
	s.do("GET", "/helpdesk/surveys/report", s.admin.token, nil).ok(t, http.StatusOK, &rep)
	if rep.Overall != (helpdesk.RatingCount{Good: 2, Bad: 2, Total: 4}) || rep.Pending != 1 {
		t.Fatalf("overall = %+v, pending %d", rep.Overall, rep.Pending)
	}
	if len(rep.Agents) != 2 || rep.Agents[0].AgentID != s.agent.id || rep.Agents[0].Name != "Andy Agent" ||
		rep.Agents[0].RatingCount != (helpdesk.RatingCount{Good: 2, Bad: 1, Total: 3}) ||
		rep.Agents[1].RatingCount != (helpdesk.RatingCount{Good: 0, Bad: 1, Total: 1}) {
		t.Fatalf("agents = %+v", rep.Agents)
	}
	if len(rep.Teams) != 2 || rep.Teams[0].TeamID != s.team || rep.Teams[0].Good != 2 || rep.Teams[1].TeamID != otherTeam {
		t.Fatalf("teams = %+v", rep.Teams)
	}
	if len(rep.Recent) != 4 || rep.Recent[0].AgentName != "Bea Agent" || rep.Recent[0].Rating != "bad" || rep.Recent[0].RequesterName != "Rita Requester" {
		t.Fatalf("recent = %+v", rep.Recent)
	}
	s.do("GET", "/helpdesk/surveys/report", s.agent.token, nil).problem(t, http.StatusForbidden)
	s.do("GET", "/helpdesk/surveys/report", s.requester.token, nil).problem(t, http.StatusForbidden)
}

func TestSurvey_OffWithoutLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	requester := e.user("Rita Requester", authn.RoleEmployee)
	tk := e.ticket(requester, e.category("Printers"), "Printer")
	e.setState(tk.ID, map[string]any{"change_id": uuid.NewString(), "step": "resolved", "status": "resolved"})
	e.do("POST", "/helpdesk/internal/tickets/"+tk.ID+"/survey", e.service, map[string]any{"request_key": "k"}).problem(t, http.StatusServiceUnavailable)
	e.do("POST", "/helpdesk/surveys/rate", "", map[string]any{"token": "x", "rating": "good"}).problem(t, http.StatusServiceUnavailable)
}
