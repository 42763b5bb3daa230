package helpdesk_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

func TestCategories_AdminManagesThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("Admin", authn.RoleAdmin)
	emp := e.user("Emp", authn.RoleEmployee)

	var vpn helpdesk.Category
	r := e.do("POST", "/helpdesk/categories", admin.token, map[string]string{"name": " VPN ", "description": "Remote access"})
	r.ok(t, http.StatusCreated, &vpn)
	if vpn.Name != "VPN" || vpn.Description != "Remote access" || !vpn.Active || vpn.ID == "" || vpn.CreatedAt.IsZero() {
		t.Fatalf("category = %+v", vpn)
	}
	if r.header.Get("Location") != "/helpdesk/categories/"+vpn.ID {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
	hw := e.category("Hardware")

	var got helpdesk.Category
	e.do("PATCH", "/helpdesk/categories/"+vpn.ID, admin.token, map[string]any{"description": "VPN and remote desktop", "active": false}).
		ok(t, http.StatusOK, &got)
	if got.Name != "VPN" || got.Description != "VPN and remote desktop" || got.Active {
		t.Fatalf("patched = %+v", got)
	}

	list := func(p person, query string) []string {
		t.Helper()
		var page httpx.List[helpdesk.Category]
		e.do("GET", "/helpdesk/categories"+query, p.token, nil).ok(t, http.StatusOK, &page)
		var names []string
		for _, c := range page.Items {
			names = append(names, c.Name)
		}
		return names
	}
	if names := list(emp, ""); len(names) != 1 || names[0] != "Hardware" {
		t.Fatalf("employee sees %v", names)
	}
	if names := list(admin, "?all=true"); len(names) != 2 || names[0] != "Hardware" || names[1] != "VPN" {
		t.Fatalf("admin sees %v", names)
	}
	// An inactive category can still be read: tickets filed in it name it.
	e.do("GET", "/helpdesk/categories/"+vpn.ID, emp.token, nil).ok(t, http.StatusOK, &got)
	e.do("GET", "/helpdesk/categories/"+hw.ID, e.service, nil).ok(t, http.StatusOK, nil)
	e.do("PATCH", "/helpdesk/categories/"+vpn.ID, admin.token, map[string]any{"active": true, "name": "Remote access"}).ok(t, http.StatusOK, &got)
	if !got.Active || got.Name != "Remote access" {
		t.Fatalf("reactivated = %+v", got)
	}
}

func TestCategories_BadInputWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("Admin", authn.RoleAdmin)
	agent := e.user("Agent", authn.RoleAgent)
	emp := e.user("Emp", authn.RoleEmployee)
	hw := e.category("Hardware")
	net := e.category("Network")

	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		field                     string
	}{
		{"name taken in another case", "POST", "", admin.token, `{"name":"hardWARE"}`, 409, "name"},
		{"rename to a taken name", "PATCH", "/" + net.ID, admin.token, `{"name":"HARDWARE"}`, 409, "name"},
		{"empty name", "POST", "", admin.token, `{"name":"  "}`, 422, "name"},
		{"name too long", "POST", "", admin.token, `{"name":"` + strings.Repeat("n", 101) + `"}`, 422, "name"},
		{"description too long", "POST", "", admin.token, `{"name":"Long","description":"` + strings.Repeat("d", 2001) + `"}`, 422, "description"},
		{"unknown field", "POST", "", admin.token, `{"name":"Teams","team_id":"x"}`, 400, "team_id"},
		{"malformed JSON", "POST", "", admin.token, `{"name":`, 400, ""},
		{"employee creates", "POST", "", emp.token, `{"name":"Mine"}`, 403, ""},
		{"agent creates", "POST", "", agent.token, `{"name":"Mine"}`, 403, ""},
		{"agent edits", "PATCH", "/" + hw.ID, agent.token, `{"active":false}`, 403, ""},
		{"employee lists inactive ones", "GET", "?all=true", emp.token, nil, 403, ""},
		{"all is not a boolean", "GET", "?all=maybe", admin.token, nil, 400, "all"},
		{"unknown category", "PATCH", "/" + uuid.NewString(), admin.token, `{"active":false}`, 404, ""},
		{"malformed category id", "GET", "/hardware", emp.token, nil, 404, ""},
		{"no token", "GET", "", "", nil, 401, ""},
	}
	before := e.rows()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := e.do(c.method, "/helpdesk/categories"+c.path, c.token, c.body).problem(t, c.status)
			if c.field != "" && !hasField(p, c.field) {
				t.Fatalf("problem does not name %q: %+v", c.field, p)
			}
		})
	}
	e.unchanged(before)
	var got helpdesk.Category
	e.do("GET", "/helpdesk/categories/"+hw.ID, emp.token, nil).ok(t, http.StatusOK, &got)
	if got.Name != "Hardware" || !got.Active {
		t.Fatalf("category changed: %+v", got)
	}
}
