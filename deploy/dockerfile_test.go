package deploy

import (
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A small reader of the Dockerfile: enough of its syntax for the checks
// below (no module in go.mod's graph brings BuildKit's parser).

// dockerInstr is one instruction: its keyword (upper case), its --flags,
// and its arguments (a JSON array's elements, or the words of the shell
// form); rest is the text after the flags as written.
type dockerInstr struct {
	line  int
	cmd   string
	flags map[string]string
	args  []string
	rest  string
}

type dockerStage struct {
	index int
	name  string
	base  string // FROM's image, ARGs expanded
	instr []dockerInstr
}

type dockerfile struct {
	args   map[string]string // the ARGs before the first FROM, with their defaults
	stages []*dockerStage
}

var dockerVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

func (d *dockerfile) expand(s string) string {
	return dockerVar.ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m, "${}")
		return d.args[name]
	})
}

// stage returns the stage of that name, or nil.
func (d *dockerfile) stage(name string) *dockerStage {
	for _, s := range d.stages {
		if s.name == name {
			return s
		}
	}
	return nil
}

// env is what the stage's ENV instructions set.
func (s *dockerStage) env() map[string]string {
	env := map[string]string{}
	for _, in := range s.instr {
		if in.cmd != "ENV" {
			continue
		}
		for _, kv := range in.args {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = strings.Trim(v, `"'`)
			}
		}
	}
	return env
}

// parseDockerfile reads path: comments, line continuations, flags, JSON
// and shell forms, stages.
func parseDockerfile(t *testing.T, path string) *dockerfile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerfile{args: map[string]string{}}
	var logical []string
	start := 0
	lines := strings.Split(string(raw), "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if len(logical) == 0 {
			start = i + 1
		}
		// Comments and blank lines end nothing, even inside a continuation.
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			logical = append(logical, strings.TrimSuffix(trimmed, `\`))
			continue
		}
		logical = append(logical, trimmed)
		text := strings.Join(logical, " ")
		logical = nil

		cmd, rest, _ := strings.Cut(text, " ")
		in := dockerInstr{line: start, cmd: strings.ToUpper(cmd), flags: map[string]string{}}
		rest = strings.TrimSpace(rest)
		for strings.HasPrefix(rest, "--") {
			flag, more, _ := strings.Cut(rest, " ")
			k, v, _ := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
			if _, dup := in.flags[k]; dup && k != "mount" {
				t.Fatalf("Dockerfile:%d: --%s twice", start, k)
			}
			in.flags[k] = v
			rest = strings.TrimSpace(more)
		}
		in.rest = rest
		if strings.HasPrefix(rest, "[") {
			if err := json.Unmarshal([]byte(rest), &in.args); err != nil {
				t.Fatalf("Dockerfile:%d: %s's JSON form: %v", start, in.cmd, err)
			}
		} else {
			in.args = strings.Fields(rest)
		}

		switch {
		case in.cmd == "ARG" && len(d.stages) == 0:
			k, v, _ := strings.Cut(rest, "=")
			d.args[k] = strings.Trim(v, `"'`)
		case in.cmd == "FROM":
			s := &dockerStage{index: len(d.stages), base: d.expand(in.args[0])}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "AS") {
				s.name = in.args[2]
			} else if len(in.args) != 1 {
				t.Fatalf("Dockerfile:%d: FROM %q", start, rest)
			}
			d.stages = append(d.stages, s)
		case len(d.stages) == 0:
			t.Fatalf("Dockerfile:%d: %s before the first FROM", start, in.cmd)
		default:
			s := d.stages[len(d.stages)-1]
			s.instr = append(s.instr, in)
		}
	}
	if len(logical) > 0 {
		t.Fatal("Dockerfile ends in a line continuation")
	}
	return d
}

func theDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	return parseDockerfile(t, filepath.Join(repoRoot(t), "Dockerfile"))
}

// goBuild is the stage that builds the binary, its `go build` words and
// the environment of that command (the stage's ENV, then VAR=value
// words before it).
func goBuild(t *testing.T, d *dockerfile) (*dockerStage, []string, map[string]string) {
	t.Helper()
	var stage *dockerStage
	var words []string
	env := map[string]string{}
	for _, s := range d.stages {
		for _, in := range s.instr {
			if in.cmd != "RUN" {
				continue
			}
			f := strings.Fields(in.rest)
			for i := 0; i+1 < len(f); i++ {
				if f[i] == "go" && f[i+1] == "build" && slices.Contains(f, "./cmd/ticketflow") {
					if stage != nil {
						t.Fatal("the Dockerfile builds ./cmd/ticketflow twice")
					}
					stage, words = s, []string{"go", "build"}
					// VAR=value words before it are its environment.
					for _, w := range f[:i] {
						if k, v, ok := strings.Cut(w, "="); ok && !strings.ContainsAny(k, "-/") {
							env[k] = v
						}
					}
					// The command ends at the next shell operator.
					for _, w := range f[i+2:] {
						if w == "&&" || w == ";" || w == "||" || w == "|" {
							break
						}
						words = append(words, w)
					}
					break
				}
			}
		}
	}
	if stage == nil {
		t.Fatal("no stage of the Dockerfile runs go build ./cmd/ticketflow")
	}
	all := stage.env()
	for k, v := range env {
		all[k] = v
	}
	return stage, words, all
}

func TestDockerfile_StagesAndTheServiceImage(t *testing.T) {
	d := theDockerfile(t)
	if len(d.stages) < 2 {
		t.Fatalf("%d stages: the image must be multi-stage, the toolchain left out of it", len(d.stages))
	}
	seen := map[string]int{}
	for _, s := range d.stages {
		if s.name == "" {
			t.Errorf("stage %d (FROM %s) has no name", s.index, s.base)
		} else if _, dup := seen[s.name]; dup {
			t.Errorf("two stages named %s", s.name)
		}
		seen[s.name] = s.index
		if !strings.Contains(s.base, ":") || strings.HasSuffix(s.base, ":latest") || strings.Contains(s.base, "${") {
			t.Errorf("stage %s: FROM %q, want a pinned tag", s.name, s.base)
		}
		// Every COPY --from names a stage before this one.
		for _, in := range s.instr {
			from, ok := in.flags["from"]
			if in.cmd != "COPY" || !ok {
				continue
			}
			i, named := seen[from]
			if n, err := strconv.Atoi(from); err == nil {
				i, named = n, n < len(d.stages)
			}
			if !named || i >= s.index {
				t.Errorf("Dockerfile:%d: COPY --from=%s names no earlier stage", in.line, from)
			}
		}
	}

	// The default target (the last stage) is the services' image, which
	// compose builds with target ticketflow.
	svc := d.stages[len(d.stages)-1]
	if svc.name != "ticketflow" {
		t.Fatalf("the last stage (the default target) is %q, want ticketflow", svc.name)
	}
	if !regexp.MustCompile(`^(gcr\.io/distroless/static(-debian\d+)?:(debug-)?nonroot(-[a-z0-9]+)?|scratch)$`).MatchString(svc.base) {
		t.Errorf("ticketflow stage: FROM %q, want gcr.io/distroless/static…:nonroot or scratch", svc.base)
	}
	var user, entry string
	var copiesBinary bool
	for _, in := range svc.instr {
		switch in.cmd {
		case "USER":
			user = in.rest
		case "ENTRYPOINT":
			entry = strings.Join(in.args, " ")
		case "RUN":
			t.Errorf("Dockerfile:%d: RUN in the ticketflow stage: a static distroless image has no shell", in.line)
		case "COPY":
			if in.flags["from"] != "" && len(in.args) == 2 && in.args[1] == "/ticketflow" {
				copiesBinary = true
			}
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "root" || uid == "0" {
		t.Errorf("ticketflow stage: USER %q, want a non-root user", user)
	}
	if svc.base == "scratch" {
		if n, err := strconv.Atoi(uid); err != nil || n == 0 {
			t.Errorf("ticketflow stage on scratch: USER %q, want a numeric non-zero uid (scratch has no /etc/passwd)", user)
		}
	}
	if entry != "/ticketflow" || !copiesBinary {
		t.Errorf("ticketflow stage: ENTRYPOINT %q, binary copied to /ticketflow %v; compose's health checks run /ticketflow", entry, copiesBinary)
	}

	// The binary is static: CGO_ENABLED=0 where it is built.
	build, _, env := goBuild(t, d)
	if env["CGO_ENABLED"] != "0" {
		t.Errorf("stage %s builds with CGO_ENABLED=%q, want 0 (a static binary for distroless static)", build.name, env["CGO_ENABLED"])
	}
	// The Go of the image is go.mod's toolchain.
	mod, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^toolchain go(\S+)$`).FindSubmatch(mod)
	if m == nil || !strings.HasPrefix(build.base, "golang:"+string(m[1])+"-") {
		t.Errorf("stage %s: FROM %q, want go.mod's toolchain %q", build.name, build.base, m)
	}

	// Every target compose builds is a stage.
	for name, s := range project(t).Services {
		if s.Build != nil && d.stage(s.Build.Target) == nil {
			t.Errorf("compose's %s builds target %q, which the Dockerfile lacks", name, s.Build.Target)
		}
	}
}

// layOutStage copies into dir what the stage's COPY instructions take from
// the build context, as they would: dir stands for the image's prefix
// (e.g. /etc/nginx), which every destination must be under. It returns the
// destinations of the COPY --from instructions, which it leaves out.
func layOutStage(t *testing.T, d *dockerfile, stage, prefix, dir string) map[string]string {
	t.Helper()
	s := d.stage(stage)
	if s == nil {
		t.Fatalf("the Dockerfile has no stage %s", stage)
	}
	root := repoRoot(t)
	fromStages := map[string]string{}
	for _, in := range s.instr {
		if in.cmd != "COPY" {
			continue
		}
		if len(in.args) < 2 {
			t.Fatalf("Dockerfile:%d: COPY %q", in.line, in.rest)
		}
		srcs, dst := in.args[:len(in.args)-1], in.args[len(in.args)-1]
		if from := in.flags["from"]; from != "" {
			fromStages[from] = dst
			continue
		}
		rel, ok := strings.CutPrefix(dst, prefix)
		if !ok {
			t.Fatalf("Dockerfile:%d: COPY to %s, outside %s", in.line, dst, prefix)
		}
		target := filepath.Join(dir, rel)
		var matches []string
		for _, src := range srcs {
			m, err := filepath.Glob(filepath.Join(root, src))
			if err != nil || len(m) == 0 {
				t.Fatalf("Dockerfile:%d: COPY %s matches nothing in the build context", in.line, src)
			}
			matches = append(matches, m...)
		}
		intoDir := strings.HasSuffix(dst, "/") || len(matches) > 1
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				t.Fatal(err)
			}
			if st.IsDir() {
				// A folder's contents go into the destination.
				err = filepath.WalkDir(m, func(p string, e fs.DirEntry, err error) error {
					if err != nil || e.IsDir() {
						return err
					}
					r, _ := filepath.Rel(m, p)
					return copyFileTo(p, filepath.Join(target, r))
				})
			} else if intoDir {
				err = copyFileTo(m, filepath.Join(target, filepath.Base(m)))
			} else {
				err = copyFileTo(m, target)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return fromStages
}

func copyFileTo(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// TestDockerfile_GatewayStageLayout: the gateway image's /etc/nginx holds
// what the compose nginx.conf includes, and its web root is where the web
// stage's build lands. TestComposeGateway_ConfigurationHolds runs nginx -t
// on this very layout.
func TestDockerfile_GatewayStageLayout(t *testing.T) {
	d := theDockerfile(t)
	etc := t.TempDir()
	from := layOutStage(t, d, "gateway", "/etc/nginx/", etc)
	want := []string{"nginx.conf", "env/http.conf", "env/https.conf", "env/redirect.conf"}
	shared, _ := filepath.Glob(filepath.Join(repoRoot(t), "deploy/nginx/*.conf"))
	if len(shared) < 5 {
		t.Fatalf("deploy/nginx/*.conf: %v", shared)
	}
	for _, f := range shared {
		want = append(want, "ticketflow/"+filepath.Base(f))
	}
	var got []string
	_ = filepath.WalkDir(etc, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			r, _ := filepath.Rel(etc, p)
			got = append(got, r)
		}
		return err
	})
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the gateway stage lays out /etc/nginx as %v, want %v", got, want)
	}
	b, err := os.ReadFile(filepath.Join(etc, "nginx.conf"))
	if err != nil || !strings.Contains(string(b), "include ticketflow/gateway.conf;") {
		t.Errorf("/etc/nginx/nginx.conf does not include ticketflow/gateway.conf (%v)", err)
	}
	// The web app: built by the web stage, served from https.conf's root.
	webDst, ok := from["web"]
	if !ok {
		t.Fatalf("the gateway stage copies nothing from the web stage: %v", from)
	}
	https, err := os.ReadFile(filepath.Join(etc, "env/https.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if root := regexp.MustCompile(`(?m)^root (\S+);`).FindSubmatch(https); root == nil || strings.TrimSuffix(webDst, "/") != string(root[1]) {
		t.Errorf("env/https.conf's root %q is not where the web app is copied (%s)", root, webDst)
	}
}

// TestDockerfile_BinaryIsStatic builds ./cmd/ticketflow with the
// Dockerfile's go build command and its stage's environment
// (CGO_ENABLED=0), and checks that the result needs no dynamic loader:
// distroless static has none.
func TestDockerfile_BinaryIsStatic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image's binary is a Linux ELF")
	}
	d := theDockerfile(t)
	_, words, env := goBuild(t, d)
	out := filepath.Join(t.TempDir(), "ticketflow")
	var args []string
	for i := 2; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "-o" && i+1 < len(words):
			args = append(args, "-o", out)
			i++
		case strings.HasPrefix(w, "-o="):
			args = append(args, "-o="+out)
		default:
			// The shell's quotes, as in -ldflags="-s -w" (joined again
			// from its words).
			if strings.Count(w, `"`)%2 == 1 {
				for i+1 < len(words) && strings.Count(w, `"`)%2 == 1 {
					i++
					w += " " + words[i]
				}
			}
			args = append(args, strings.ReplaceAll(w, `"`, ""))
		}
	}
	if !slices.Contains(args, out) {
		t.Fatalf("the Dockerfile's go build names no -o: %v", words)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, append([]string{"build"}, args...)...)
	cmd.Dir = repoRoot(t)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, b)
	}

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a PT_INTERP program header: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	info, err := buildinfo.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Settings {
		if s.Key == "CGO_ENABLED" && s.Value != "0" {
			t.Errorf("built with CGO_ENABLED=%s", s.Value)
		}
	}
}
