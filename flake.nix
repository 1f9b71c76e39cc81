# The stackr repository's flake: the stackr CLI, the NixOS module library, and the demo stack
# this repo runs and tests itself against (stackr.config.json; everything in ./nix is generated).
{
  description = "stackr: one stackr.config.json -> a reproducible, Nix-driven stack of isolated services";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    # Rust builds: the workspace's dependencies compile once and every crate reuses them.
    crane.url = "github:ipetkov/crane";
  };

  outputs = { self, nixpkgs, crane }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      craneLibFor = pkgs: crane.mkLib pkgs;

      # What cargo builds from: Rust sources and manifests, plus the SQL migrations, the CSS and
      # the templates that crates embed (include_str!, and the generator's copy of the runtime).
      # A change anywhere else rebuilds nothing.
      buildSrc = pkgs: pkgs.lib.cleanSourceWith {
        src = ./.;
        filter = path: type:
          (craneLibFor pkgs).filterCargoSources path type
          || builtins.match ".*\\.(sql|css)$" path != null
          || builtins.match ".*/templates(/.*)?$" path != null;
      };
      # The whole repository (tests and checks read fixtures, snapshots, modules, generated files).
      fullSrc = nixpkgs.lib.cleanSource ./.;

      servicePackages = pkgs: import ./nix/packages.nix { craneLib = craneLibFor pkgs; src = buildSrc pkgs; };

      # The generator binary, reusing the workspace's dependency build.
      stackrCli = pkgs: (craneLibFor pkgs).buildPackage {
        pname = "stackr";
        version = "0.1.0";
        src = buildSrc pkgs;
        strictDeps = true;
        inherit (servicePackages pkgs) cargoArtifacts;
        cargoExtraArgs = "--locked --package stackr";
        # Tests run in checks.cargo-tests.
        doCheck = false;
        meta.mainProgram = "stackr";
      };

      # The demo stack: the module library plus the generated values.
      demoModule = {
        imports = [
          self.nixosModules.default
          (import ./nix/stackr.nix { packagesFor = pkgs: removeAttrs (servicePackages pkgs) [ "cargoArtifacts" ]; })
        ];
      };
    in
    {
      packages = forAllSystems (pkgs: removeAttrs (servicePackages pkgs) [ "cargoArtifacts" ] // rec {
        stackr = stackrCli pkgs;
        default = stackr;
      });

      apps = forAllSystems (pkgs: {
        dev = {
          type = "app";
          program = pkgs.lib.getExe (import ./nix/dev.nix { inherit pkgs; });
          meta.description = "Run the demo stack locally (process-compose: PostgreSQL, Redis, APIs, workers)";
        };
        stackr = {
          type = "app";
          program = pkgs.lib.getExe (stackrCli pkgs);
          meta.description = "The stackr CLI: generate, check and lint a stack from stackr.config.json";
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt-rfc-style);

      checks = forAllSystems (pkgs: {
        # The generator's suite (snapshots, schema, parsing, behaviour) in the sandbox; rustfmt is
        # on PATH for the scaffolded-code formatting test. The runtime crates' and checks' suites
        # need PostgreSQL/Redis/Docker and run outside the sandbox (scripts/test.sh).
        cargo-tests = (craneLibFor pkgs).cargoTest {
          pname = "stackr-tests";
          version = "0.1.0";
          src = fullSrc;
          strictDeps = true;
          inherit (servicePackages pkgs) cargoArtifacts;
          nativeBuildInputs = [ pkgs.rustfmt ];
          cargoTestExtraArgs = "--locked --package stackr";
        };
        rustfmt = (craneLibFor pkgs).cargoFmt { src = buildSrc pkgs; pname = "stackr"; version = "0.1.0"; };
        generated-up-to-date = pkgs.runCommand "stackr-generate-check" { nativeBuildInputs = [ (stackrCli pkgs) ]; } ''
          cd ${fullSrc}
          stackr generate --check
          touch $out
        '';
        architecture-rules = pkgs.runCommand "stackr-lint" { nativeBuildInputs = [ (stackrCli pkgs) ]; } ''
          cd ${fullSrc}
          stackr lint
          touch $out
        '';
        demo-vm = import ./nix/vm-test.nix { inherit pkgs; module = demoModule; };
      });

      # What generated projects import: the `stackr.*` options and their implementation.
      nixosModules.default = import ./modules;
      # For a stack placed on several hosts (nix/fleet.nix): colmena's keys of each host.
      nixosModules.colmena = import ./modules/colmena.nix;
      # The demo stack, deployable as is.
      nixosModules.demo = demoModule;

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.cargo
            pkgs.rustc
            pkgs.clippy
            pkgs.rustfmt
            pkgs.process-compose
            pkgs.postgresql
            pkgs.redis
            pkgs.util-linux
          ];
        };
      });
    };
}
