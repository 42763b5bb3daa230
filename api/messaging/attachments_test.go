package messaging_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// pngBytes starts like every PNG file, which is what sniffing looks at.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 2000)...)

// upload posts content as the multipart field "file" named name.
func (e *env) upload(p person, ticketID, field, name string, content []byte) response {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("comment", "see attached")
	fw, err := mw.CreateFormFile(field, name)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, err := http.NewRequest("POST", e.url()+"/messaging/tickets/"+ticketID+"/attachments", &body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return e.send(req, p.token)
}

// storedFiles lists the files under the attachments directory, but the
// temporary ones' directory.
func (e *env) storedFiles() []string {
	e.t.Helper()
	var files []string
	err := filepath.WalkDir(e.cfg.AttachmentsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(e.cfg.AttachmentsDir, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return files
}

func TestAttachments_UploadedFileIsDownloadedAsStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bob, eve := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent), e.user("Eve", authn.RoleEmployee)
	tk := e.ticket(ana)

	var a messaging.Attachment
	// The client's claimed type is ignored: the bytes say PNG.
	e.upload(ana, tk.ID, "file", "screen shot é.png", pngBytes).ok(t, http.StatusCreated, &a)
	sum := sha256.Sum256(pngBytes)
	hash := hex.EncodeToString(sum[:])
	if a.TicketID != tk.ID || a.UploaderID != ana.id || a.FileName != "screen shot é.png" || a.Size != int64(len(pngBytes)) ||
		a.ContentType != "image/png" || a.SHA256 != hash {
		t.Fatalf("attachment = %+v", a)
	}
	if files := e.storedFiles(); len(files) != 1 || files[0] != filepath.Join(hash[:2], hash[2:4], hash) {
		t.Fatalf("files on disk = %v", files)
	}

	for _, p := range []person{ana, bob} {
		r := e.do("GET", "/messaging/attachments/"+a.ID, p.token, nil)
		r.ok(t, http.StatusOK, nil)
		if !bytes.Equal(r.body, pngBytes) || r.header.Get("Content-Type") != "image/png" ||
			r.header.Get("X-Content-Type-Options") != "nosniff" ||
			r.header.Get("Content-Disposition") != `attachment; filename="screen shot _.png"; filename*=UTF-8''screen%20shot%20%C3%A9.png` {
			t.Fatalf("download headers %v", r.header)
		}
	}
	e.do("GET", "/messaging/attachments/"+a.ID, eve.token, nil).problem(t, http.StatusNotFound)
	e.do("GET", "/messaging/attachments/"+uuid.NewString(), ana.token, nil).problem(t, http.StatusNotFound)

	// The same content again shares the file.
	var again messaging.Attachment
	e.upload(bob, tk.ID, "file", "copy.png", pngBytes).ok(t, http.StatusCreated, &again)
	if len(e.storedFiles()) != 1 || again.ID == a.ID {
		t.Fatalf("second upload: %+v, files %v", again, e.storedFiles())
	}
	var l httpx.List[messaging.Attachment]
	e.do("GET", "/messaging/tickets/"+tk.ID+"/attachments", ana.token, nil).ok(t, http.StatusOK, &l)
	if len(l.Items) != 2 || l.Items[0].ID != a.ID || l.Items[1].ID != again.ID {
		t.Fatalf("list = %+v", l.Items)
	}
	e.do("GET", "/messaging/tickets/"+tk.ID+"/attachments", eve.token, nil).problem(t, http.StatusNotFound)
}

func TestAttachments_BadUploadsStoreNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, eve := e.user("Ana", authn.RoleEmployee), e.user("Eve", authn.RoleEmployee)
	tk := e.ticket(ana)
	limit := int(e.cfg.MaxAttachmentBytes)

	for _, c := range []struct {
		name    string
		who     person
		ticket  string
		field   string
		content []byte
		status  int
	}{
		{"over the limit", ana, tk.ID, "file", append(pngBytes, make([]byte, limit)...), http.StatusRequestEntityTooLarge},
		{"far over the limit", ana, tk.ID, "file", make([]byte, 2*limit), http.StatusRequestEntityTooLarge},
		{"HTML", ana, tk.ID, "file", []byte("<!DOCTYPE html><script>alert(1)</script>"), http.StatusUnsupportedMediaType},
		{"SVG", ana, tk.ID, "file", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), http.StatusUnsupportedMediaType},
		{"executable", ana, tk.ID, "file", append([]byte("MZ\x90\x00"), make([]byte, 600)...), http.StatusUnsupportedMediaType},
		{"empty file", ana, tk.ID, "file", nil, http.StatusUnprocessableEntity},
		{"no file field", ana, tk.ID, "upload", pngBytes, http.StatusUnprocessableEntity},
		{"someone else's ticket", eve, tk.ID, "file", pngBytes, http.StatusNotFound},
		{"unknown ticket", ana, uuid.NewString(), "file", pngBytes, http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.rows()
			e.upload(c.who, c.ticket, c.field, "x.png", c.content).problem(t, c.status)
			e.unchanged(before)
			if files := e.storedFiles(); len(files) != 0 {
				t.Fatalf("files left on disk: %v", files)
			}
		})
	}
	// A body that is no multipart form.
	e.do("POST", "/messaging/tickets/"+tk.ID+"/attachments", ana.token, map[string]string{"file": "x"}).
		problem(t, http.StatusUnsupportedMediaType)
}

func TestAttachments_PathInTheFileNameGoesNowhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana)

	for name, want := range map[string]string{
		"../../etc/passwd":                  "passwd",
		`..\..\windows\win.ini`:             "win.ini",
		"..":                                "attachment",
		"evil\u202egnp.exe":                 "evilgnp.exe",
		"zero\u200bwidth.txt":               "zerowidth.txt",
		strings.Repeat("n", 300) + ".txt":   strings.Repeat("n", 196) + ".txt",
		`quote"and\backslash;semicolon.txt`: "backslash;semicolon.txt",
	} {
		var a messaging.Attachment
		e.upload(ana, tk.ID, "file", name, []byte("plain text "+name)).ok(t, http.StatusCreated, &a)
		if a.FileName != want || a.ContentType != "text/plain; charset=utf-8" {
			t.Errorf("%q stored as %q (%s), want %q", name, a.FileName, a.ContentType, want)
			continue
		}
		r := e.do("GET", "/messaging/attachments/"+a.ID, ana.token, nil)
		r.ok(t, http.StatusOK, nil)
		_, params, err := mime.ParseMediaType(r.header.Get("Content-Disposition"))
		if err != nil || params["filename"] != strings.NewReplacer(`"`, "_", `\`, "_").Replace(want) {
			t.Errorf("%q served with Content-Disposition %q (%v)", name, r.header.Get("Content-Disposition"), err)
		}
	}
	// Every file sits in the store's fan-out, named by its hash, and
	// nothing was written beside the store.
	for _, f := range e.storedFiles() {
		if parts := strings.Split(f, string(filepath.Separator)); len(parts) != 3 || len(parts[2]) != 64 || parts[2][:2] != parts[0] {
			t.Fatalf("stored file %s is not in the hash fan-out", f)
		}
	}
	if _, err := os.Stat(filepath.Join(e.cfg.AttachmentsDir, "..", "etc", "passwd")); err == nil {
		t.Fatal("a file was written outside the attachments directory")
	}
}
