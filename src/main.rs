//! The `wardgate` command: serve, check-config, devices, policy and bench.

mod bench;
mod config;
mod dedup;
mod eap_mab;
mod mab;
mod reply;
mod server;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::Config;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "wardgate",
    version,
    about = "Network access control (RADIUS) for hospitals"
)]
struct Cli {
    /// Configuration file (TOML). Without it, the embedded default: loopback, SQLite in ./data
    /// (or $WARDGATE_DATA_DIR), the example policies, a demo client for 127.0.0.0/8.
    #[arg(long, short, global = true, env = "WARDGATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the RADIUS server.
    Serve,
    /// Validate the configuration, the dictionaries and the policy, then exit.
    CheckConfig,
    /// The device inventory.
    Devices {
        #[command(subcommand)]
        command: DevicesCommand,
    },
    /// The policy files.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Load-test a RADIUS server on loopback with MAB requests (used by scripts/bench).
    Bench(bench::BenchArgs),
}

#[derive(Subcommand)]
enum DevicesCommand {
    /// Import devices from a CSV file whose header names the columns (mac, role, sensitivity,
    /// location, environment, owner, any other column is a free label). All or nothing.
    Import { file: PathBuf },
    /// Export every device as CSV (to stdout, or to --output FILE).
    Export {
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Remove devices by MAC (any spelling). The running server forgets them within a second.
    Delete {
        #[arg(required = true)]
        macs: Vec<String>,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Load the policy folder and report every error as file:line.
    Check { dir: Option<PathBuf> },
    /// Run the test cases kept in DIR/tests/*.toml against the policy in DIR.
    Test { dir: Option<PathBuf> },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wardgate: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Config::load(p).map_err(|e| anyhow::anyhow!("configuration refused:\n{e}")),
        None => Ok(Config::embedded_default()),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Bench(args) => {
            bench::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            let config = load_config(cli.config.as_deref())?;
            runtime()?.block_on(serve(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig => {
            let config = load_config(cli.config.as_deref())?;
            for w in &config.warnings {
                println!("warning: {w}");
            }
            let dict = server::load_dictionary(&config.dictionary)?;
            let policy = server::load_policy(&config.policy_dir, &dict)?;
            server::Engine::new(policy, config.clients.clone(), &dict)?;
            println!(
                "configuration OK: {} client(s), policy {}, database {}",
                config.clients.len(),
                config.policy_dir.display(),
                config::redact_url(&config.database_url)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Devices { command } => {
            let config = load_config(cli.config.as_deref())?;
            runtime()?.block_on(devices(config, command))
        }
        Command::Policy { command } => {
            let config = load_config(cli.config.as_deref())?;
            let dict = server::load_dictionary(&config.dictionary)?;
            let default_dir = || -> anyhow::Result<PathBuf> { Ok(config.policy_dir.clone()) };
            match command {
                PolicyCommand::Check { dir } => {
                    let dir = dir.map_or_else(default_dir, Ok)?;
                    let policy = server::load_policy(&dir, &dict)?;
                    println!(
                        "{}: OK, {} segment(s), {} rule(s), version {}",
                        dir.display(),
                        policy.segments().count(),
                        policy.rules().len(),
                        policy.version()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                PolicyCommand::Test { dir } => {
                    let dir = dir.map_or_else(default_dir, Ok)?;
                    let policy = server::load_policy(&dir, &dict)?;
                    let catalog = server::catalog::DictionaryCatalog(&dict);
                    let report = wardgate_policy::run_tests_checked(&policy, &dir, &catalog)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let failed = report.cases.iter().filter(|c| !c.passed).count();
                    for c in report.cases.iter().filter(|c| !c.passed) {
                        println!(
                            "{}:{}: FAIL {}:\n  {}",
                            c.file.display(),
                            c.line,
                            c.name,
                            c.message
                        );
                    }
                    println!(
                        "{} cases, {} passed, {} failed",
                        report.cases.len(),
                        report.cases.len() - failed,
                        failed
                    );
                    Ok(if failed == 0 && !report.cases.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    })
                }
            }
        }
    }
}

async fn devices(config: Config, command: DevicesCommand) -> anyhow::Result<ExitCode> {
    match command {
        DevicesCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let devices = match wardgate_store::csvio::parse_devices_csv(
                &file.display().to_string(),
                &text,
            ) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("{e}");
                    eprintln!("wardgate: nothing was imported from {}", file.display());
                    return Ok(ExitCode::FAILURE);
                }
            };
            let store = server::open_store(&config).await?;
            let n = store
                .import_devices(&devices)
                .await
                .map_err(|e| anyhow::anyhow!("import failed, nothing was imported: {e}"))?;
            println!("imported {n} device(s) from {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        DevicesCommand::Export { output } => {
            let store = server::open_store(&config).await?;
            let devices = store
                .list_devices()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match output {
                Some(p) => {
                    let f = std::fs::File::create(&p)
                        .with_context(|| format!("cannot create {}", p.display()))?;
                    wardgate_store::csvio::write_devices_csv(&devices, std::io::BufWriter::new(f))?;
                    eprintln!("exported {} device(s) to {}", devices.len(), p.display());
                }
                None => {
                    wardgate_store::csvio::write_devices_csv(&devices, std::io::stdout().lock())?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DevicesCommand::Delete { macs } => {
            let parsed: Vec<wardgate_types::MacAddr> = macs
                .iter()
                .map(|m| {
                    wardgate_types::MacAddr::parse(m).map_err(|e| anyhow::anyhow!("{m:?}: {e}"))
                })
                .collect::<anyhow::Result<_>>()?;
            let store = server::open_store(&config).await?;
            let mut missing = 0;
            for mac in parsed {
                if store
                    .delete_device(mac)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                {
                    println!("deleted {mac}");
                } else {
                    missing += 1;
                    eprintln!("{mac}: not in the inventory");
                }
            }
            Ok(if missing == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let _guard = server::decision_log::init_logging(config.log_format);
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let running = match server::start(&config).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start: {e:#}");
            drop(_guard);
            return Err(e);
        }
    };
    match &config.source {
        Some(p) => tracing::info!("configuration {}", p.display()),
        None => tracing::info!("no configuration file: running the embedded default"),
    }
    for a in &running.auth {
        tracing::info!("auth listening on {a}");
    }
    for a in &running.acct {
        tracing::info!("accounting listening on {a}");
    }
    for c in &running.state.engine.load().clients {
        if c.test_secret {
            tracing::warn!(
                "client {:?} ({}) uses the well-known TEST secret from FreeRADIUS's first-run setup: for trying Wardgate on this machine only, never for a real switch",
                c.name,
                c.network
            );
        }
    }
    tracing::info!(
        "database {}, policy {}, audit spool {}",
        config::redact_url(&config.database_url),
        config.policy_dir.display(),
        config.audit_spool.display()
    );
    tracing::info!("ready");

    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading");
                server::reload(&running.state, &config);
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("stopping: flushing the audit queue");
    running.state.audit.flush().await;
    server::log_stats(&running.state.stats);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped systemd unit's command lines are ones this binary accepts.
    #[test]
    fn shipped_systemd_unit_runs_a_valid_command() {
        let unit = include_str!("../packaging/wardgate.service");
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("an ExecStart line");
        let args: Vec<&str> = exec.split_whitespace().collect();
        assert!(args[0].ends_with("/wardgate"), "{exec}");
        let cli = Cli::try_parse_from(&args).expect("ExecStart parses");
        assert!(matches!(cli.command, Command::Serve));
        assert_eq!(
            cli.config.as_deref(),
            Some(Path::new("/etc/wardgate/wardgate.toml"))
        );
        assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    }
}
