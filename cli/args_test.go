package cli

import (
	"slices"
	"testing"

	ucli "github.com/urfave/cli/v2"
)

func testApp() *ucli.App {
	return &ucli.App{
		Flags: []ucli.Flag{&ucli.StringFlag{Name: "socket"}},
		Commands: []*ucli.Command{
			{Name: "pin", Flags: []ucli.Flag{&ucli.StringFlag{Name: "origin"}, &ucli.BoolFlag{Name: "detach"}}},
			{Name: "ls"},
		},
	}
}

func TestReorder(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"flags after argument", []string{"mc", "pin", "CID", "--origin", "URL"}, []string{"mc", "pin", "--origin", "URL", "--", "CID"}},
		{"flags before argument", []string{"mc", "pin", "--origin", "URL", "CID"}, []string{"mc", "pin", "--origin", "URL", "--", "CID"}},
		{"bool flag takes no value", []string{"mc", "pin", "CID", "--detach", "--origin=U"}, []string{"mc", "pin", "--detach", "--origin=U", "--", "CID"}},
		{"global flag after argument", []string{"mc", "pin", "CID", "--socket", "/s"}, []string{"mc", "pin", "--socket", "/s", "--", "CID"}},
		{"global flag before command", []string{"mc", "--socket", "/s", "ls"}, []string{"mc", "--socket", "/s", "ls"}},
		{"help after argument shows the command's help", []string{"mc", "pin", "CID", "--help"}, []string{"mc", "pin", "--help"}},
		{"unknown flag moved so the parser rejects it", []string{"mc", "pin", "CID", "--bogus"}, []string{"mc", "pin", "--bogus", "--", "CID"}},
		{"double dash keeps the rest positional", []string{"mc", "pin", "--", "-odd-name"}, []string{"mc", "pin", "--", "-odd-name"}},
		{"unknown command untouched", []string{"mc", "nope", "x", "--y"}, []string{"mc", "nope", "x", "--y"}},
		{"no arguments", []string{"mc"}, []string{"mc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reorder(testApp(), tt.in); !slices.Equal(got, tt.want) {
				t.Fatalf("Reorder(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestReorderParses runs the reordered arguments through urfave/cli itself:
// the flag after the argument is seen, and an unknown one is an error.
func TestReorderParses(t *testing.T) {
	var origin string
	var args []string
	app := testApp()
	app.Commands[0].Action = func(c *ucli.Context) error {
		origin, args = c.String("origin"), c.Args().Slice()
		return nil
	}
	if err := app.Run(Reorder(app, []string{"mc", "pin", "CID", "--origin", "URL"})); err != nil {
		t.Fatal(err)
	}
	if origin != "URL" || !slices.Equal(args, []string{"CID"}) {
		t.Fatalf("origin %q args %q", origin, args)
	}
	app = testApp()
	app.Commands[0].Action = func(*ucli.Context) error { return nil }
	app.Writer, app.ErrWriter = discard{}, discard{}
	if err := app.Run(Reorder(app, []string{"mc", "pin", "CID", "--bogus"})); err == nil {
		t.Fatal("unknown flag after the argument was accepted")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
