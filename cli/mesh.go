package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	ucli "github.com/urfave/cli/v2"
)

func idCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "id",
		Usage: `print this node's peer ID and addresses as JSON {"id", "addrs"}`,
		Action: func(c *ucli.Context) error {
			id, err := client(c).ID(c.Context)
			if err != nil {
				return err
			}
			out := struct {
				ID     string   `json:"id"`
				Addrs  []string `json:"addrs"`
				Region string   `json:"region,omitempty"`
			}{id.PeerID, id.Addrs, id.Region}
			enc := json.NewEncoder(c.App.Writer)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
}

func peersCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "peers",
		Usage: "list connected cluster members with address, transport, RTT and region",
		Action: func(c *ucli.Context) error {
			peers, err := client(c).Peers(c.Context)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PEER\tTRANSPORT\tRTT\tREGION\tADDRESS")
			for _, p := range peers {
				addr := ""
				if len(p.Addrs) > 0 {
					addr = p.Addrs[0]
				}
				region := p.Region
				if region == "" {
					region = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%.2f ms\t%s\t%s\n", p.PeerID, p.Transport, p.RTTMillis, region, addr)
			}
			return tw.Flush()
		},
	}
}
