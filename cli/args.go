package cli

import (
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// Reorder moves a subcommand's flags in front of its positional arguments,
// so that `meshcache pin CID --origin URL` means what people mean by it.
// urfave/cli v2 stops parsing flags at the first positional argument and
// would take "--origin" and "URL" as more arguments, silently. Unknown flags
// are moved too, so that the parser rejects them instead of passing them on
// as arguments. Everything after "--" stays positional.
func Reorder(app *ucli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	// Global flags come before the command name.
	globalFlags, rest := splitLeadingFlags(app.Flags, rest)
	out = append(out, globalFlags...)
	if len(rest) == 0 {
		return out
	}
	cmd := findCommand(app.Commands, rest[0])
	out = append(out, rest[0])
	rest = rest[1:]
	for cmd != nil && len(rest) > 0 && len(cmd.Subcommands) > 0 {
		sub := findCommand(cmd.Subcommands, rest[0])
		if sub == nil {
			break
		}
		out = append(out, rest[0])
		cmd, rest = sub, rest[1:]
	}
	if cmd == nil {
		return append(out, rest...)
	}
	flags, positional := partition(append(cmd.Flags, app.Flags...), rest)
	out = append(out, flags...)
	// With --help, urfave/cli would take an argument as a help topic and
	// fail ("No help topic for 'CID'"): `meshcache pin CID --help` wants
	// the command's help.
	if len(positional) > 0 && !slices.ContainsFunc(flags, isHelp) {
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

// splitLeadingFlags takes the flags (with their values) before the first
// positional argument.
func splitLeadingFlags(defs []ucli.Flag, args []string) (flags, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !isFlag(a) {
			return flags, args[i:]
		}
		flags = append(flags, a)
		if takesValue(defs, a) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, nil
}

// partition separates flags (with their values) from positional arguments.
func partition(defs []ucli.Flag, args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(positional, args[i+1:]...)
		}
		if !isFlag(a) {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		if takesValue(defs, a) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, positional
}

func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' }

func isHelp(a string) bool { return a == "--help" || a == "-h" || a == "-help" }

// takesValue reports whether flag token a needs the next token as its value.
func takesValue(defs []ucli.Flag, a string) bool {
	name := strings.TrimLeft(a, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range defs {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if dg, ok := f.(ucli.DocGenerationFlag); ok {
				return dg.TakesValue()
			}
			return true
		}
	}
	return false
}

func findCommand(cmds []*ucli.Command, name string) *ucli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
