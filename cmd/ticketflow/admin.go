package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
)

func newAdminCommand() *cobra.Command {
	admin := &cobra.Command{
		Use:   "admin",
		Short: "Bootstrap and maintenance tasks: users, service accounts, signing keys",
	}
	admin.AddCommand(newCreateUserCommand(), newServiceAccountCommand(), newRotateKeysCommand())
	return admin
}

func newCreateUserCommand() *cobra.Command {
	var email, password, name, role string
	cmd := &cobra.Command{
		Use:   "create-user",
		Short: "Create a user with any role (the way to make the first admin)",
		Example: `  ticketflow admin create-user --email admin@example.com --password 'a long secret' --name Admin --role admin
  TICKETFLOW_PASSWORD='a long secret' ticketflow admin create-user --email ana@example.com --name Ana --role agent`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := authn.ParseRole(role)
			if err != nil || !r.Valid() {
				return fmt.Errorf("--role must be employee, agent or admin")
			}
			app, err := loadApp()
			if err != nil {
				return err
			}
			defer app.Close()
			svc, _, err := app.AuthService(cmd.Context())
			if err != nil {
				return err
			}
			u, err := svc.CreateUser(cmd.Context(), auth.NewUser{Email: email, Password: password, Name: name, Role: r})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s %s (%s)\n", u.Role, u.Email, u.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "e-mail address (required)")
	cmd.Flags().StringVar(&password, "password", "", "password, at least 10 characters (or set TICKETFLOW_PASSWORD)")
	cmd.Flags().StringVar(&name, "name", "", "display name (required)")
	cmd.Flags().StringVar(&role, "role", "employee", "employee, agent or admin")
	_ = cmd.MarkFlagRequired("email")
	_ = cmd.MarkFlagRequired("name")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if password == "" {
			password = envPassword()
		}
		if password == "" {
			return fmt.Errorf("--password or TICKETFLOW_PASSWORD is required")
		}
		return nil
	}
	return cmd
}

func newServiceAccountCommand() *cobra.Command {
	var secret string
	cmd := &cobra.Command{
		Use:   "service-account <client-id>",
		Short: "Create a service account, or give it a new secret, and print its credentials",
		Long: `service-account creates (or re-keys) an account that a service uses to get
tokens for calls to other services: it POSTs the client id and secret to
/auth/token (grant type client_credentials). Set them as SERVICE_CLIENT_ID and
SERVICE_CLIENT_SECRET of that service. The secret is shown once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := loadApp()
			if err != nil {
				return err
			}
			defer app.Close()
			svc, _, err := app.AuthService(cmd.Context())
			if err != nil {
				return err
			}
			s, err := svc.SetServiceAccount(cmd.Context(), args[0], secret)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "SERVICE_CLIENT_ID=%s\nSERVICE_CLIENT_SECRET=%s\n", args[0], s)
			return nil
		},
	}
	cmd.Flags().StringVar(&secret, "secret", "", "use this secret (at least 32 characters) instead of a random one")
	return cmd
}

func newRotateKeysCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-keys",
		Short: "Make a new token signing key; the old one verifies until its tokens expire",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := loadApp()
			if err != nil {
				return err
			}
			defer app.Close()
			_, keys, err := app.AuthService(cmd.Context())
			if err != nil {
				return err
			}
			if err := keys.Rotate(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "signing key rotated")
			return nil
		},
	}
}

func envPassword() string { return os.Getenv("TICKETFLOW_PASSWORD") }
