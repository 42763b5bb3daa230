package deploy

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// The secrets .env.example leaves empty, as an operator fills them in.
var operatorSecrets = map[string]string{
	"POSTGRES_PASSWORD":     "pg-secret-0123456789abcdef",
	"TEMPORAL_DB_PASSWORD":  "temporal-secret-0123456789abcdef",
	"RABBITMQ_PASSWORD":     "rabbit-secret-0123456789abcdef",
	"REDIS_PASSWORD":        "redis-secret-0123456789abcdef",
	"CURSOR_SECRET":         "cursor-secret-0123456789abcdef",
	"SERVICE_CLIENT_SECRET": "service-secret-0123456789abcdef0123456789",
}

// loadCompose loads docker-compose.yml as `docker compose` does, with
// .env.example as its .env and extra on top.
func loadCompose(t *testing.T, extra map[string]string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	env := []string{}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnvFiles(filepath.Join(root, ".env.example")),
		cli.WithDotEnv,
		cli.WithEnv(env),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func project(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadCompose(t, operatorSecrets)
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// The services of the architecture, each with its role in the compose file.
var (
	infrastructure = []string{"postgres", "rabbitmq", "redis", "temporal", "temporal-ui"}
	ticketflowHTTP = []string{"auth", "helpdesk", "workflow", "messaging", "notification"}
	oneShots       = []string{"migrate", "service-account", "temporal-schema", "temporal-setup"}
)

func TestCompose_EveryServiceOfTheArchitecture(t *testing.T) {
	p := project(t)
	want := slices.Concat(infrastructure, ticketflowHTTP, []string{"worker", "migrate", "nginx"})
	for _, name := range want {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("service %s is missing", name)
		}
	}
	known := slices.Concat(want, oneShots)
	for name := range p.Services {
		if !slices.Contains(known, name) {
			t.Errorf("service %s is not one of the architecture's; add it to this test with its role", name)
		}
	}
}

func TestCompose_OnlyNginxPublishesPorts(t *testing.T) {
	p := project(t)
	for name, s := range p.Services {
		if name == "nginx" {
			continue
		}
		if len(s.Ports) > 0 {
			t.Errorf("%s publishes %v; only nginx may", name, s.Ports)
		}
	}
	var published []string
	for _, port := range p.Services["nginx"].Ports {
		published = append(published, port.Published+":"+strconv.FormatUint(uint64(port.Target), 10))
	}
	slices.Sort(published)
	if !slices.Equal(published, []string{"443:443", "80:80"}) {
		t.Fatalf("nginx publishes %v, want 443:443 and 80:80", published)
	}
}

func TestCompose_BackendIsInternalAndIsolated(t *testing.T) {
	p := project(t)
	backend, ok := p.Networks["backend"]
	if !ok || !backend.Internal {
		t.Fatalf("network backend = %+v, want internal: true", backend)
	}
	if p.Networks["edge"].Internal {
		t.Fatal("network edge is internal: nginx could not be reached")
	}
	for name, s := range p.Services {
		nets := slices.Sorted(maps.Keys(s.Networks))
		want := []string{"backend"}
		switch name {
		case "nginx":
			want = []string{"backend", "edge"}
		case "notification":
			// E-mail must leave (SendGrid, SMTP): a network of its own,
			// with nothing published on it.
			want = []string{"backend", "egress"}
		}
		if !slices.Equal(nets, want) {
			t.Errorf("%s is on %v, want %v", name, nets, want)
		}
	}
	for name, n := range p.Networks {
		if name != "edge" && name != "backend" && name != "egress" {
			t.Errorf("unexpected network %s (%+v)", name, n)
		}
	}
}

func TestCompose_LongRunningServicesHaveHealthChecks(t *testing.T) {
	p := project(t)
	for name, s := range p.Services {
		if slices.Contains(oneShots, name) {
			if s.Restart == types.RestartPolicyUnlessStopped || s.Restart == types.RestartPolicyAlways {
				t.Errorf("one-shot %s restarts %q: it would run forever", name, s.Restart)
			}
			continue
		}
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 {
			t.Errorf("%s has no health check", name)
			continue
		}
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("%s restarts %q, want unless-stopped", name, s.Restart)
		}
	}
	// The Ticketflow image has no shell and no curl: it checks itself.
	for _, name := range append(slices.Clone(ticketflowHTTP), "worker") {
		test := p.Services[name].HealthCheck.Test
		if !slices.Equal(test[:3], []string{"CMD", "/ticketflow", "healthcheck"}) || !strings.HasSuffix(test[len(test)-1], "/readyz") {
			t.Errorf("%s health check = %v, want ticketflow healthcheck on /readyz", name, test)
		}
	}
}

func TestCompose_DependenciesWaitForHealthOrCompletion(t *testing.T) {
	p := project(t)
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			want := types.ServiceConditionHealthy
			if slices.Contains(oneShots, dep) {
				want = types.ServiceConditionCompletedSuccessfully
			}
			if d.Condition != want {
				t.Errorf("%s depends on %s with condition %q, want %q", name, dep, d.Condition, want)
			}
		}
	}
	needs := map[string][]string{
		"auth":            {"migrate", "service-account", "postgres", "rabbitmq", "redis"},
		"helpdesk":        {"migrate", "auth", "rabbitmq"},
		"workflow":        {"migrate", "auth", "rabbitmq", "temporal-setup"},
		"messaging":       {"migrate", "auth", "helpdesk", "rabbitmq", "redis"},
		"notification":    {"migrate", "auth", "rabbitmq", "redis"},
		"worker":          {"migrate", "service-account", "temporal-setup", "helpdesk", "rabbitmq"},
		"migrate":         {"postgres"},
		"service-account": {"migrate"},
		"temporal-schema": {"postgres"},
		"temporal":        {"temporal-schema"},
		"temporal-setup":  {"temporal"},
		"temporal-ui":     {"temporal"},
		"nginx":           slices.Concat(ticketflowHTTP, []string{"temporal-ui"}),
	}
	for name, deps := range needs {
		for _, dep := range deps {
			if _, ok := p.Services[name].DependsOn[dep]; !ok {
				t.Errorf("%s does not wait for %s", name, dep)
			}
		}
	}
}

func TestCompose_HTTPServicesAndWorkersRunInReplicas(t *testing.T) {
	p := project(t)
	for _, name := range append(slices.Clone(ticketflowHTTP), "worker") {
		s := p.Services[name]
		if n := s.GetScale(); n < 2 {
			t.Errorf("%s runs %d replicas, want at least 2", name, n)
		}
		if s.ContainerName != "" {
			t.Errorf("%s has container_name %q, which allows one replica only", name, s.ContainerName)
		}
	}
}

func TestCompose_ImagesAndCommands(t *testing.T) {
	p := project(t)
	// Every Ticketflow process is the one image of the Dockerfile's
	// ticketflow target, with its own subcommand.
	commands := map[string][]string{
		"auth": {"serve", "auth"}, "helpdesk": {"serve", "helpdesk"}, "workflow": {"serve", "workflow"},
		"messaging": {"serve", "messaging"}, "notification": {"serve", "notification"},
		"worker": {"worker"}, "migrate": {"migrate"},
		"service-account": {"admin", "service-account", "ticketflow-services", "--secret", operatorSecrets["SERVICE_CLIENT_SECRET"]},
	}
	for name, cmd := range commands {
		s := p.Services[name]
		if s.Build == nil || s.Build.Target != "ticketflow" || s.Image != "ticketflow:latest" {
			t.Errorf("%s: image %q, build %+v; want ticketflow:latest from target ticketflow", name, s.Image, s.Build)
		}
		if !slices.Equal([]string(s.Command), cmd) {
			t.Errorf("%s runs %v, want %v", name, s.Command, cmd)
		}
		if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("%s: read_only %v, cap_drop %v; want a read-only root and no capabilities", name, s.ReadOnly, s.CapDrop)
		}
		env := s.Environment
		for k, want := range map[string]string{
			"TICKETFLOW_ENV": "production",
			"TRUST_PROXY":    "true",
			"CURSOR_SECRET":  operatorSecrets["CURSOR_SECRET"],
			"JWKS_URL":       "http://auth:8080/auth/.well-known/jwks.json",
			"AUTH_URL":       "http://auth:8080",
			"HELPDESK_URL":   "http://helpdesk:8080",
			"PUBLIC_URL":     "https://desk.example.com",
		} {
			if got := env[k]; got == nil || *got != want {
				t.Errorf("%s: %s = %v, want %q", name, k, got, want)
			}
		}
		if got := env["DATABASE_URL"]; got == nil || !strings.Contains(*got, operatorSecrets["POSTGRES_PASSWORD"]+"@postgres:5432/") {
			t.Errorf("%s: DATABASE_URL = %v", name, got)
		}
	}
	if s := p.Services["nginx"]; s.Build == nil || s.Build.Target != "gateway" {
		t.Errorf("nginx builds %+v, want the Dockerfile's gateway target", s.Build)
	}
	if ui := p.Services["temporal-ui"].Environment["TEMPORAL_UI_PUBLIC_PATH"]; ui == nil || *ui != "/temporal" {
		t.Errorf("temporal-ui: TEMPORAL_UI_PUBLIC_PATH = %v, want /temporal", ui)
	}
	// Temporal runs on the PostgreSQL service, as the architecture's
	// scale-out says (temporalio/server's auto-setup names the SQL plugin
	// in DB and the host in POSTGRES_SEEDS), with its own role; its schema
	// job writes the same database, and the UI and every Ticketflow
	// process talk to this server.
	wantEnv := map[string]map[string]string{
		"temporal": {
			"DB": "postgres12", "DB_PORT": "5432", "POSTGRES_SEEDS": "postgres",
			"POSTGRES_USER": "temporal", "POSTGRES_PWD": operatorSecrets["TEMPORAL_DB_PASSWORD"],
		},
		"temporal-schema": {
			"SQL_PLUGIN": "postgres12", "SQL_HOST": "postgres", "SQL_PORT": "5432",
			"SQL_USER": "temporal", "SQL_PASSWORD": operatorSecrets["TEMPORAL_DB_PASSWORD"],
		},
		"postgres":    {"TEMPORAL_DB_PASSWORD": operatorSecrets["TEMPORAL_DB_PASSWORD"]},
		"temporal-ui": {"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_UI_PORT": "8080", "TEMPORAL_UI_PUBLIC_PATH": "/temporal"},
	}
	for name := range commands {
		wantEnv[name] = map[string]string{"TEMPORAL_ADDRESS": "temporal:7233"}
	}
	for name, want := range wantEnv {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("service %s is missing", name)
			continue
		}
		for k, v := range want {
			if got := s.Environment[k]; got == nil || *got != v {
				t.Errorf("%s: %s = %v, want %q", name, k, got, v)
			}
		}
	}
	if _, ok := p.Services["temporal"].Environment["CASSANDRA_SEEDS"]; ok {
		t.Error("temporal: CASSANDRA_SEEDS is set; it runs on PostgreSQL")
	}
	if img := p.Services["postgres"].Image; !strings.HasPrefix(img, "postgres:") {
		t.Errorf("POSTGRES_SEEDS names postgres, which runs %q", img)
	}
	// PostgreSQL makes Temporal's role when its volume is new.
	if !slices.ContainsFunc(p.Services["postgres"].Volumes, func(v types.ServiceVolumeConfig) bool {
		return strings.HasPrefix(v.Target, "/docker-entrypoint-initdb.d/") && strings.HasSuffix(v.Source, "deploy/postgres/init-temporal.sh")
	}) {
		t.Error("postgres does not run deploy/postgres/init-temporal.sh at its first start")
	}
	// The gateway's /temporal/ reaches the UI on its port.
	httpConf, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy/nginx/compose/env/http.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?s)upstream temporal_ui \{[^}]*server temporal-ui:8080 `).Match(httpConf) {
		t.Error("deploy/nginx/compose/env/http.conf: upstream temporal_ui is not temporal-ui:8080 (TEMPORAL_UI_PORT)")
	}
	for name, prefix := range map[string]string{
		"temporal": "temporalio/server:", "temporal-ui": "temporalio/ui:", "temporal-schema": "temporalio/admin-tools:",
		"postgres": "postgres:", "rabbitmq": "rabbitmq:", "redis": "redis:",
	} {
		if img := p.Services[name].Image; !strings.HasPrefix(img, prefix) || strings.HasSuffix(img, ":latest") {
			t.Errorf("%s runs %q, want a pinned %s image", name, img, prefix)
		}
	}
	// Data that must outlive a container lives in volumes.
	for name, target := range map[string]string{
		"postgres": "/var/lib/postgresql/data", "rabbitmq": "/var/lib/rabbitmq",
		"messaging": "/var/lib/ticketflow/attachments", "notification": "/var/lib/ticketflow/mail",
	} {
		if !slices.ContainsFunc(p.Services[name].Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Target == target
		}) {
			t.Errorf("%s keeps %s in no named volume", name, target)
		}
	}
}

func TestCompose_RefusesToStartWithoutSecrets(t *testing.T) {
	// .env.example as it is: the secrets are empty.
	_, err := loadCompose(t, nil)
	if err == nil {
		t.Fatal("docker-compose.yml loads with the empty secrets of .env.example")
	}
	if !regexp.MustCompile(`(POSTGRES_PASSWORD|TEMPORAL_DB_PASSWORD|RABBITMQ_PASSWORD|REDIS_PASSWORD|CURSOR_SECRET|SERVICE_CLIENT_SECRET)`).MatchString(err.Error()) {
		t.Fatalf("error %q names no missing secret", err)
	}
	for secret := range operatorSecrets {
		partial := maps.Clone(operatorSecrets)
		delete(partial, secret)
		if _, err := loadCompose(t, partial); err == nil || !strings.Contains(err.Error(), secret) {
			t.Errorf("without %s: err = %v, want one naming it", secret, err)
		}
	}
}

// TestComposeGateway_ConfigurationHolds runs nginx -t on the gateway's
// compose configuration, laid out by the Dockerfile's gateway stage's own
// COPY instructions (layOutStage), with the image's mime.types. Debian's
// nginx is older than the image's: upstream `resolve` (1.27.3) and `http2
// on` (1.25.1) are left out, and the service names, which only Docker's
// DNS knows, become loopback addresses. Everything else is checked as the
// container would.
func TestComposeGateway_ConfigurationHolds(t *testing.T) {
	nginx := nginxBinary(t)
	etc := t.TempDir()
	layOutStage(t, theDockerfile(t), "gateway", "/etc/nginx/", etc)
	// The official image's mime.types; Debian's is the same list.
	if err := copyFileTo("/etc/nginx/mime.types", filepath.Join(etc, "mime.types")); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(etc, "certs")
	edit := func(rel string, change func(string) string) {
		t.Helper()
		p := filepath.Join(etc, rel)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		changed := change(string(b))
		if changed == string(b) {
			t.Fatalf("%s: the edit for Debian's nginx changed nothing; update this test", rel)
		}
		if err := os.WriteFile(p, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hostnames := regexp.MustCompile(`server [a-z-]+:8080 resolve`)
	edit("env/http.conf", func(s string) string { return hostnames.ReplaceAllString(s, "server 127.0.0.1:8080") })
	edit("env/https.conf", func(s string) string {
		return strings.NewReplacer("http2 on;", "", "/etc/nginx/certs", certs).Replace(s)
	})
	if err := os.MkdirAll(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	gen := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
		"-days", "1", "-subj", "/CN=desk.example.com", "-keyout", filepath.Join(certs, "key.pem"), "-out", filepath.Join(certs, "cert.pem"))
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	out, err := exec.Command(nginx, "-t", "-q", "-p", etc, "-c", filepath.Join(etc, "nginx.conf"), "-e", "stderr").CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t on the compose configuration: %v\n%s", err, out)
	}
}
