// compose-check loads a Compose file the way `docker compose config` does — with the
// compose-spec/compose-go library that Docker Compose itself uses: interpolation from an env
// file, schema validation, normalisation and consistency checks (unknown services in
// depends_on, undefined volumes, dependency cycles, ...) — without a Docker engine or the
// compose CLI plugin. Used by tests/deploy; prints the normalised model with -print.
//
//	compose-check -file docker-compose.yml -env-file .env.example [-print]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	file := flag.String("file", "docker-compose.yml", "compose file")
	envFile := flag.String("env-file", "", "env file used for interpolation (like --env-file)")
	print := flag.Bool("print", false, "print the normalised model as YAML")
	flag.Parse()

	opts := []cli.ProjectOptionsFn{cli.WithConsistency(true), cli.WithNormalization(true), cli.WithInterpolation(true)}
	if *envFile != "" {
		opts = append(opts, cli.WithEnvFiles(*envFile), cli.WithDotEnv)
	}
	options, err := cli.NewProjectOptions([]string{*file}, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	project, err := cli.ProjectFromOptions(context.Background(), options)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	if *print {
		out, err := project.MarshalYAML()
		if err != nil {
			fmt.Fprintln(os.Stderr, "compose-check:", err)
			os.Exit(1)
		}
		os.Stdout.Write(out)
	}
}
