# The stackr repository's flake: the stackr CLI, the NixOS module library, and the demo stack
# this repo runs and tests itself against (stackr.config.json; everything in ./nix is generated).
{
  description = "stackr: one stackr.config.json -> a reproducible, Nix-driven stack of isolated services";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      src = nixpkgs.lib.cleanSource ./.;

      # The generator binary, from the workspace.
      stackrCli = pkgs: pkgs.rustPlatform.buildRustPackage {
        pname = "stackr";
        version = "0.1.0";
        inherit src;
        cargoLock.lockFile = ./Cargo.lock;
        cargoBuildFlags = [ "--package" "stackr" ];
        # Tests run in checks.cargo-tests.
        doCheck = false;
        meta.mainProgram = "stackr";
      };

      servicePackages = pkgs: import ./nix/packages.nix { inherit pkgs src; lockFile = ./Cargo.lock; };

      # The demo stack: the module library plus the generated values.
      demoModule = {
        imports = [
          self.nixosModules.default
          (import ./nix/stackr.nix { packagesFor = servicePackages; })
        ];
      };
    in
    {
      packages = forAllSystems (pkgs: servicePackages pkgs // rec {
        stackr = stackrCli pkgs;
        default = stackr;
      });

      apps = forAllSystems (pkgs: {
        dev = {
          type = "app";
          program = pkgs.lib.getExe (import ./nix/dev.nix { inherit pkgs; });
        };
        stackr = {
          type = "app";
          program = pkgs.lib.getExe (stackrCli pkgs);
        };
      });

      checks = forAllSystems (pkgs: {
        # The generator's suite (snapshots, schema, parsing, behaviour). The runtime crates' and
        # checks' suites need PostgreSQL/Redis/Docker and run outside the sandbox (.ci/run).
        cargo-tests = (stackrCli pkgs).overrideAttrs (_: {
          pname = "stackr-tests";
          doCheck = true;
          cargoTestFlags = [ "--package" "stackr" ];
        });
        generated-up-to-date = pkgs.runCommand "stackr-generate-check" { nativeBuildInputs = [ (stackrCli pkgs) ]; } ''
          cd ${src}
          stackr generate --check
          touch $out
        '';
        architecture-rules = pkgs.runCommand "stackr-lint" { nativeBuildInputs = [ (stackrCli pkgs) ]; } ''
          cd ${src}
          stackr lint
          touch $out
        '';
        demo-vm = import ./nix/vm-test.nix { inherit pkgs; module = demoModule; };
      });

      # What generated projects import: the `stackr.*` options and their implementation.
      nixosModules.default = import ./modules;
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
