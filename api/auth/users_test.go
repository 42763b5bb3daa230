package auth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

func TestRegister_CreatesEmployee(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/auth/register", "", map[string]string{"email": "  Ana@Example.COM ", "password": "correct horse battery", "name": "Ana"})
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var u auth.User
	r.decode(t, &u)
	if u.Email != "ana@example.com" || u.Role != authn.RoleEmployee || !u.Active || u.ID == "" {
		t.Fatalf("user = %+v", u)
	}
	if strings.Contains(string(r.body), "password") {
		t.Fatalf("answer mentions the password: %s", r.body)
	}
	if n := e.count(`SELECT count(*) FROM outbox WHERE type = 'user.created'`); n != 1 {
		t.Fatalf("user.created outbox rows = %d, want 1", n)
	}
}

func TestRegister_BadInput(t *testing.T) {
	e := newEnv(t)
	e.register("taken@example.com", "Taken")
	cases := []struct {
		name   string
		body   string
		ctype  string
		status int
		field  string
	}{
		{"malformed JSON", `{"email": "a@example.com",`, "", http.StatusBadRequest, ""},
		{"not an object", `["a"]`, "", http.StatusBadRequest, ""},
		{"two objects", `{"email":"x@example.com","password":"correct horse battery","name":"X"} {}`, "", http.StatusBadRequest, ""},
		{"unknown field", `{"email":"b@example.com","password":"correct horse battery","name":"B","role":"admin"}`, "", http.StatusBadRequest, "role"},
		{"wrong type", `{"email":"c@example.com","password":12345678901,"name":"C"}`, "", http.StatusBadRequest, "password"},
		{"missing name", `{"email":"d@example.com","password":"correct horse battery"}`, "", http.StatusUnprocessableEntity, "name"},
		{"missing everything", `{}`, "", http.StatusUnprocessableEntity, "email"},
		{"bad e-mail", `{"email":"not-an-email","password":"correct horse battery","name":"E"}`, "", http.StatusUnprocessableEntity, "email"},
		{"weak password", `{"email":"f@example.com","password":"short","name":"F"}`, "", http.StatusUnprocessableEntity, "password"},
		{"password is the e-mail", `{"email":"gggggg@example.com","password":"GGGGGG@example.com","name":"G"}`, "", http.StatusUnprocessableEntity, "password"},
		{"duplicate e-mail, other case", `{"email":"TAKEN@example.com","password":"correct horse battery","name":"T"}`, "", http.StatusConflict, ""},
		{"body over the limit", `{"email":"h@example.com","password":"correct horse battery","name":"` + strings.Repeat("h", maxBody) + `"}`, "", http.StatusRequestEntityTooLarge, ""},
		{"not JSON content type", `email=i@example.com`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, ""},
		{"empty body", ``, "", http.StatusBadRequest, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var headers []string
			if c.ctype != "" {
				headers = []string{"Content-Type", c.ctype}
			}
			p := e.do("POST", "/auth/register", "", c.body, headers...).problem(t, c.status)
			if c.field != "" && !hasField(p, c.field) {
				t.Fatalf("problem does not name field %q: %+v", c.field, p)
			}
		})
	}
	if n := e.count(`SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("users = %d after bad registrations, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("outbox rows = %d after bad registrations, want 1", n)
	}
}

func hasField(p httpx.Problem, field string) bool {
	for _, f := range p.Errors {
		if f.Field == field {
			return true
		}
	}
	return false
}

func TestMe_ReturnsTheCaller(t *testing.T) {
	e := newEnv(t)
	u := e.register("me@example.com", "Me")
	pair := e.login("me@example.com", u.password)
	r := e.do("GET", "/auth/me", pair.AccessToken, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got auth.User
	r.decode(t, &got)
	if got.ID != u.ID || got.Email != "me@example.com" {
		t.Fatalf("me = %+v, want %+v", got, u.User)
	}
	e.do("GET", "/auth/me", "", nil).problem(t, http.StatusUnauthorized)
}

func TestAdminRoutes_ForbiddenToOthers(t *testing.T) {
	e := newEnv(t)
	emp := e.register("emp@example.com", "Emp")
	agent := e.createUser("agent@example.com", authn.RoleAgent)
	for _, u := range []registered{emp, agent} {
		tok := e.login(u.Email, u.password).AccessToken
		e.do("GET", "/auth/users", tok, nil).problem(t, http.StatusForbidden)
		e.do("PATCH", "/auth/users/"+emp.ID, tok, map[string]any{"role": "admin"}).problem(t, http.StatusForbidden)
	}
	e.do("GET", "/auth/users", "", nil).problem(t, http.StatusUnauthorized)
	if n := e.count(`SELECT count(*) FROM users WHERE role = 'admin'`); n != 0 {
		t.Fatalf("admins = %d, want 0", n)
	}
}

func TestListUsers_PagesAndSearches(t *testing.T) {
	e := newEnv(t)
	admin := e.createUser("root@example.com", authn.RoleAdmin)
	tok := e.login(admin.Email, admin.password).AccessToken
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		e.register(name+"@example.com", strings.ToUpper(name[:1])+name[1:])
	}
	seen := map[string]bool{}
	path := "/auth/users?limit=2"
	pages := 0
	for {
		r := e.do("GET", path, tok, nil)
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var page httpx.List[auth.User]
		r.decode(t, &page)
		for _, u := range page.Items {
			if seen[u.ID] {
				t.Fatalf("user %s on two pages", u.Email)
			}
			seen[u.ID] = true
		}
		pages++
		if page.NextCursor == "" {
			break
		}
		path = "/auth/users?limit=2&cursor=" + page.NextCursor
	}
	if len(seen) != 6 || pages != 3 {
		t.Fatalf("saw %d users on %d pages, want 6 on 3", len(seen), pages)
	}

	var found httpx.List[auth.User]
	e.do("GET", "/auth/users?q=CAR", tok, nil).decode(t, &found)
	if len(found.Items) != 1 || found.Items[0].Email != "carol@example.com" {
		t.Fatalf("search CAR = %+v", found.Items)
	}
	// LIKE metacharacters match literally.
	e.do("GET", "/auth/users?q=%25", tok, nil).decode(t, &found)
	if len(found.Items) != 0 {
		t.Fatalf("search %% = %d users, want 0", len(found.Items))
	}
	e.do("GET", "/auth/users?role=admin", tok, nil).decode(t, &found)
	if len(found.Items) != 1 || found.Items[0].ID != admin.ID {
		t.Fatalf("role=admin = %+v", found.Items)
	}

	for _, bad := range []string{"?cursor=forged", "?limit=0", "?limit=1000", "?role=root", "?active=maybe"} {
		e.do("GET", "/auth/users"+bad, tok, nil).problem(t, http.StatusBadRequest)
	}
}

func TestUpdateUser_ChangesRoleAndDeactivates(t *testing.T) {
	e := newEnv(t)
	admin := e.createUser("root@example.com", authn.RoleAdmin)
	tok := e.login(admin.Email, admin.password).AccessToken
	u := e.register("worker@example.com", "Worker")
	session := e.login(u.Email, u.password)

	r := e.do("PATCH", "/auth/users/"+u.ID, tok, map[string]any{"role": "agent"})
	var got auth.User
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Role != authn.RoleAgent {
		t.Fatalf("promote: %d %s", r.status, r.body)
	}
	// The next token carries the new role.
	if pair := e.login(u.Email, u.password); roleOf(t, e, pair.AccessToken) != authn.RoleAgent {
		t.Fatal("new token does not carry the agent role")
	}

	r = e.do("PATCH", "/auth/users/"+u.ID, tok, map[string]any{"active": false})
	if r.status != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	// A deactivated user can neither log in nor refresh.
	e.do("POST", "/auth/login", "", map[string]string{"email": u.Email, "password": u.password}).problem(t, http.StatusUnauthorized)
	e.do("POST", "/auth/refresh", "", map[string]string{"refresh_token": session.RefreshToken}).problem(t, http.StatusUnauthorized)

	if n := e.count(`SELECT count(*) FROM outbox WHERE type = 'user.updated'`); n != 2 {
		t.Fatalf("user.updated rows = %d, want 2", n)
	}
	// Sending the same change again changes nothing and publishes nothing.
	e.do("PATCH", "/auth/users/"+u.ID, tok, map[string]any{"active": false})
	if n := e.count(`SELECT count(*) FROM outbox WHERE type = 'user.updated'`); n != 2 {
		t.Fatalf("user.updated rows = %d after a no-op, want 2", n)
	}
}

func TestUpdateUser_BadInput(t *testing.T) {
	e := newEnv(t)
	admin := e.createUser("root@example.com", authn.RoleAdmin)
	tok := e.login(admin.Email, admin.password).AccessToken
	u := e.register("x@example.com", "X")
	e.do("PATCH", "/auth/users/"+u.ID, tok, map[string]any{"role": "superuser"}).problem(t, http.StatusUnprocessableEntity)
	e.do("PATCH", "/auth/users/"+u.ID, tok, map[string]any{"active": "no"}).problem(t, http.StatusBadRequest)
	e.do("PATCH", "/auth/users/00000000-0000-0000-0000-000000000000", tok, map[string]any{"role": "agent"}).problem(t, http.StatusNotFound)
	e.do("PATCH", "/auth/users/not-a-uuid", tok, map[string]any{"role": "agent"}).problem(t, http.StatusNotFound)
	e.do("PATCH", "/auth/users/"+admin.ID, tok, map[string]any{"role": "employee"}).problem(t, http.StatusConflict)
	e.do("PATCH", "/auth/users/"+admin.ID, tok, map[string]any{"active": false}).problem(t, http.StatusConflict)
	if n := e.count(`SELECT count(*) FROM outbox WHERE type = 'user.updated'`); n != 0 {
		t.Fatalf("user.updated rows = %d after bad patches, want 0", n)
	}
}
