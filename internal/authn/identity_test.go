package authn

import (
	"testing"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    Role
		wantErr bool
	}{
		{"employee", RoleEmployee, false},
		{"agent", RoleAgent, false},
		{"admin", RoleAdmin, false},
		{"service", "", true}, // never given to a person
		{"Admin", "", true},
		{"", "", true},
		{"superuser", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRole(tt.in)
			if tt.wantErr {
				if !apperr.Is(err, apperr.Unprocessable) {
					t.Errorf("ParseRole(%q) error %v, want Unprocessable", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseRole(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if !got.Valid() {
				t.Errorf("%q.Valid() = false", got)
			}
		})
	}
}

func TestUser_RolePredicates(t *testing.T) {
	tests := []struct {
		role           Role
		staff, service bool
		valid          bool
	}{
		{RoleEmployee, false, false, true},
		{RoleAgent, true, false, true},
		{RoleAdmin, true, false, true},
		{RoleService, false, true, false},
		{"", false, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			u := User{ID: "u1", Role: tt.role}
			if got := u.IsStaff(); got != tt.staff {
				t.Errorf("IsStaff() = %v, want %v", got, tt.staff)
			}
			if got := u.IsService(); got != tt.service {
				t.Errorf("IsService() = %v, want %v", got, tt.service)
			}
			if got := tt.role.Valid(); got != tt.valid {
				t.Errorf("Valid() = %v, want %v", got, tt.valid)
			}
		})
	}
}

func TestUserContext_RoundTrips(t *testing.T) {
	if _, ok := UserFrom(t.Context()); ok {
		t.Fatal("UserFrom found a user in an empty context")
	}
	want := User{ID: "u1", Role: RoleAgent, TokenID: "jti"}
	ctx := WithUser(t.Context(), want)
	if got, ok := UserFrom(ctx); !ok || got != want {
		t.Errorf("UserFrom = %+v, %v; want %+v", got, ok, want)
	}
	if got := MustUser(ctx); got != want {
		t.Errorf("MustUser = %+v, want %+v", got, want)
	}
}

func TestMustUser_PanicsWithoutUser(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustUser did not panic")
		}
	}()
	MustUser(t.Context())
}
