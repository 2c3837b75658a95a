//! The `simgate` command: serve the API, run a sandbox, sync catalogues,
//! manage tenants, check the configuration.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::ExposeSecret;
use simgate::{Application, LogFormat, Settings};
use simgate_domain::ProviderId;
use simgate_domain::entities::TenantAccount;

/// mimalloc rather than glibc's malloc: a request allocates and frees many
/// small buffers on whichever worker thread runs it, which glibc serves
/// with per-thread arenas that grow resident memory and cost a fifth of a
/// catalogue page's CPU (bench/results.md has the profiles).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One API over many eSIM providers.
#[derive(Parser)]
#[command(name = "simgate", version, about)]
struct Cli {
    /// TOML configuration file; `SIMGATE_*` variables override it. One given
    /// here must exist; without it, `simgate.toml` is read if present.
    #[arg(long, global = true, env = "SIMGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Log lines as `text` or `json` (one object per line); overrides the
    /// `log_format` setting and `SIMGATE_LOG_FORMAT`.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the unified API.
    Serve {
        /// Also run the built-in provider sandboxes and use them as upstreams,
        /// with a demo tenant: try simgate with no provider contract.
        #[arg(long)]
        sandbox: bool,
        /// With `--sandbox`: the number of bundles the eSIM Go sandbox
        /// generates (seeded, deterministic), e.g. for benchmarks;
        /// overrides `[sandbox] catalogue_size`.
        #[arg(long, requires = "sandbox")]
        catalogue_size: Option<usize>,
    },
    /// Runs one provider's sandbox alone, in its own process: point a
    /// simgate (or several) at it, and arm faults or read its purchases
    /// under `/__admin`.
    Sandbox {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7001")]
        listen: SocketAddr,
        /// Which provider to simulate.
        #[arg(long, default_value = "esim-go")]
        provider: ProviderId,
        /// Where its webhooks go (eSIM Go usage callbacks, Sim Local
        /// fulfilment webhooks, eSIM Story eSIMs), e.g.
        /// `http://127.0.0.1:8080/v1/webhooks/sim-local`.
        #[arg(long)]
        webhook_url: Option<String>,
        /// eSIM Story only: write the options it sells to this JSON file,
        /// for `providers.esim_story.options_file`.
        #[arg(long)]
        options_file: Option<PathBuf>,
        /// eSIM Go only: the number of bundles its catalogue holds
        /// (seeded, deterministic; default ~6,000).
        #[arg(long)]
        catalogue_size: Option<usize>,
    },
    /// Catalogue operations.
    Catalogue {
        #[command(subcommand)]
        command: CatalogueCommand,
    },
    /// Tenant (reseller account) operations.
    Tenants {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// The operator's FX rate table (exact decimals).
    Fx {
        #[command(subcommand)]
        command: FxCommand,
    },
    /// How offers are routed between providers.
    Routing {
        #[command(subcommand)]
        command: RoutingCommand,
    },
    /// Compares a provider's own list of purchases with simgate's purchase
    /// ledger over a period and prints each mismatch: bought upstream but
    /// linked to no order, linked but unknown upstream, or a different cost.
    /// Exits non-zero when there is any.
    Reconcile {
        /// The provider (`esim-go`, …).
        #[arg(long)]
        provider: ProviderId,
        /// Start of the period: RFC 3339, or `YYYY-MM-DD` (that day's
        /// midnight, UTC).
        #[arg(long)]
        from: String,
        /// End of the period, exclusive: RFC 3339, or `YYYY-MM-DD` (the whole
        /// day included). Default: now.
        #[arg(long)]
        to: Option<String>,
        /// Read the provider's purchases from the simulator at this base URL
        /// (`GET /__admin/purchases`) instead of the provider's order list.
        #[arg(long)]
        sandbox_admin: Option<String>,
    },
    /// Creates or upgrades the database schema, then exits.
    Migrate,
    /// Configuration operations.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validates the configuration and prints it as simgate sees it (file,
    /// then environment, then defaults), secrets redacted; exits non-zero
    /// naming the key or file at fault.
    Check,
}

#[derive(Subcommand)]
enum CatalogueCommand {
    /// Downloads providers' catalogues into the local store, showing progress.
    Sync {
        /// Only this provider (default: all configured).
        #[arg(long)]
        provider: Option<ProviderId>,
    },
}

#[derive(Subcommand)]
enum FxCommand {
    /// Sets one rate: one BASE is worth RATE QUOTE (`simgate fx set USD EUR 0.92`).
    /// It replaces the pair's rate and its inverse's.
    Set {
        base: String,
        quote: String,
        rate: String,
    },
    /// Lists every rate: base, quote, rate, tab-separated.
    List,
    /// Sets every rate of a file: `.csv` lines `BASE,QUOTE,RATE`, or `.toml`
    /// `[[rate]]` tables with `base`, `quote` and `rate = "0.92"` (a string).
    Load {
        file: PathBuf,
        /// Remove every rate the file does not list.
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Subcommand)]
enum RoutingCommand {
    /// Prints an offer's candidates in the order they would be tried now
    /// for a tenant (its routing policy, pricing currency and FX rates),
    /// and why each has its place or is left out.
    Show {
        /// Tenant id (`ten_…`, see `simgate tenants list`).
        #[arg(long)]
        tenant: String,
        /// Offer id (`off_…`, see `GET /v1/offers`).
        #[arg(long)]
        offer: String,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Lists every tenant: id, name, state, creation time and key prefixes.
    List,
    /// Creates a tenant and prints its API key (shown only once).
    Create {
        /// Unique, non-empty name (at most 100 characters).
        #[arg(long)]
        name: String,
    },
    /// Replaces every key of a tenant by a new one, printed once; the old
    /// keys are refused from now on.
    RotateKey {
        /// Tenant id (`ten_…`, see `simgate tenants list`).
        #[arg(long)]
        id: String,
    },
    /// Disables a tenant: its keys are refused from now on; its records stay.
    Disable {
        /// Tenant id (`ten_…`, see `simgate tenants list`).
        #[arg(long)]
        id: String,
    },
    /// Funds a tenant's account (a positive amount) or corrects it (a
    /// negative one), once per reference: running it again changes nothing.
    Fund {
        /// Tenant id (`ten_…`).
        #[arg(long)]
        id: String,
        /// Exact decimal in the account's currency, e.g. `250` or `-12.50`.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Your unique reference of this movement (an invoice, a transfer).
        #[arg(long)]
        reference: String,
        /// Free text kept with the entry.
        #[arg(long)]
        note: Option<String>,
    },
    /// Prints a tenant's account; with `--mode`, sets its terms first.
    Account {
        /// Tenant id (`ten_…`).
        #[arg(long)]
        id: String,
        /// `prepaid` (the balance must cover every sale) or `credit`.
        #[arg(long)]
        mode: Option<String>,
        /// ISO 4217 currency of the account (default: its current one).
        #[arg(long)]
        currency: Option<String>,
        /// How far below zero a `credit` account may go.
        #[arg(long)]
        credit_limit: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(cli.log_format.unwrap_or(settings.log_format));
    match run(cli, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr in the chosen format; `RUST_LOG` narrows or widens what
/// is logged (by default `info`: one line per HTTP request among others).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into());
    let logger = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logger.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logger
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

async fn run(cli: Cli, mut settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve {
            sandbox,
            catalogue_size,
        } => {
            if catalogue_size.is_some() {
                settings.sandbox.catalogue_size = catalogue_size;
            }
            if sandbox {
                settings.webhooks.with_sandbox_key();
            }
            // Registered first, so that a SIGTERM during start-up is not fatal.
            let shutdown = shutdown_requested()?;
            tokio::pin!(shutdown);
            let mut sandboxes = Vec::new();
            if sandbox {
                for provider in simgate::providers::all() {
                    let listen = (provider.sandbox_listen)(&settings.sandbox);
                    let running = (provider.start_sandbox)(listen, &settings.sandbox).await?;
                    tracing::info!(
                        url = %running.handle.base_url(),
                        "{} sandbox is running",
                        provider.descriptor.name
                    );
                    running.configure(&mut settings.providers);
                    sandboxes.push((provider.descriptor.id, running));
                }
            }
            let simulators = if sandbox {
                let list = sandboxes
                    .iter()
                    .map(|(provider, running)| simgate_console::Simulator {
                        provider: *provider,
                        base_url: running.handle.base_url(),
                    })
                    .collect();
                Some(simgate_console::Simulators::new(list)?)
            } else {
                None
            };
            let app = tokio::select! {
                app = Application::start_with(&settings, simulators) => app?,
                signal = &mut shutdown => {
                    tracing::info!(signal, "shutting down before start-up finished");
                    return Ok(());
                }
            };
            if sandbox {
                for (provider, running) in &sandboxes {
                    running.set_webhook_url(Some(simgate::webhook_url(&app, *provider)));
                }
                simgate::ensure_sandbox_fx(app.services()).await?;
                simgate::ensure_sandbox_tenant(
                    app.store(),
                    settings.sandbox.tenant_api_key.expose_secret(),
                    settings.sandbox.demo_funds,
                )
                .await?;
            }
            tokio::select! {
                () = app.ready() => {
                    if sandbox {
                        print_sandbox_ready(&app, &settings);
                    }
                    let signal = (&mut shutdown).await;
                    tracing::info!(signal, "shutting down");
                }
                signal = &mut shutdown => tracing::info!(signal, "shutting down before ready"),
            }
            app.stop().await;
        }
        Command::Sandbox {
            listen,
            provider,
            webhook_url,
            options_file,
            catalogue_size,
        } => {
            run_sandbox(provider, listen, webhook_url, options_file, catalogue_size).await?;
        }
        Command::Catalogue {
            command: CatalogueCommand::Sync { provider },
        } => sync_catalogue(&settings, provider).await?,
        Command::Tenants { command } => administer_tenants(&settings, command).await?,
        Command::Fx { command } => administer_fx(&settings, command).await?,
        Command::Routing {
            command: RoutingCommand::Show { tenant, offer },
        } => show_routing(&settings, &tenant, &offer).await?,
        Command::Reconcile {
            provider,
            from,
            to,
            sandbox_admin,
        } => {
            reconcile_purchases(&settings, provider, &from, to.as_deref(), sandbox_admin).await?;
        }
        Command::Migrate => {
            simgate::services(&settings).await?;
            eprintln!("database is up to date");
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            simgate::check_settings(&settings)?;
            print!("{}", toml::to_string_pretty(&settings)?);
            eprintln!("configuration is valid");
        }
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C, naming which. The handlers are installed
/// when this is called, not when it is first awaited.
fn shutdown_requested() -> std::io::Result<impl Future<Output = &'static str>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let interrupt = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        let signal = tokio::select! {
            _ = interrupt => "Ctrl-C",
            _ = terminate.recv() => "SIGTERM",
        };
        #[cfg(not(unix))]
        let signal = {
            let _ = interrupt.await;
            "Ctrl-C"
        };
        signal
    })
}

/// The sandbox's ready line: where simgate listens and the demo key.
fn print_sandbox_ready(app: &Application, settings: &Settings) {
    eprintln!(
        "simgate sandbox ready on http://{}  (API key: {})",
        app.addr(),
        settings.sandbox.tenant_api_key.expose_secret()
    );
    // No demo operator key: a well-known one would open the
    // operator routes of any sandbox reachable from elsewhere.
    if settings.admin_api_key.is_some() {
        eprintln!(
            "operator routes, /metrics and the console's faults panel (/console/faults) take the configured admin_api_key"
        );
    } else {
        eprintln!(
            "no operator key: set SIMGATE_ADMIN_API_KEY to add numbers or groups, read /metrics \
             and arm provider faults in the console (/console/faults)"
        );
    }
}

/// Any mismatch found by `simgate reconcile`: the command fails with it.
#[derive(Debug, thiserror::Error)]
#[error("{0} mismatches between the provider and simgate's ledger")]
struct MismatchesFound(usize);

/// `simgate reconcile`: prints each mismatch, then `N matched, M mismatches`.
async fn reconcile_purchases(
    settings: &Settings,
    provider: ProviderId,
    from: &str,
    to: Option<&str>,
    sandbox_admin: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    use simgate::reconcile::{Bound, parse_instant, reconcile};
    let from = parse_instant("--from", from, Bound::Start)?;
    let to = match to {
        Some(to) => parse_instant("--to", to, Bound::End)?,
        None => chrono::Utc::now(),
    };
    let (services, _, _) = simgate::services(settings).await?;
    let audit = reconcile(&services, provider, from, to, sandbox_admin.as_deref()).await?;
    for mismatch in &audit.mismatches {
        println!("{mismatch}");
    }
    println!(
        "{} matched, {} mismatches",
        audit.matched,
        audit.mismatches.len()
    );
    if audit.mismatches.is_empty() {
        Ok(())
    } else {
        Err(MismatchesFound(audit.mismatches.len()).into())
    }
}

/// `simgate tenants …`: the same use cases as `/admin/v1/tenants`.
async fn administer_tenants(
    settings: &Settings,
    command: TenantCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let (services, _, _) = simgate::services(settings).await?;
    match command {
        TenantCommand::List => {
            let tenants = services.list_tenants().await?;
            if tenants.is_empty() {
                eprintln!("no tenants yet: create one with `simgate tenants create --name …`");
            }
            for tenant in tenants {
                println!("{}", tenant_line(&tenant));
            }
        }
        TenantCommand::Create { name } => {
            let issued = services.create_tenant(&name).await?;
            println!(
                "tenant: {}\napi key: {}\n(store the key now: simgate keeps only its hash)",
                issued.tenant.id,
                issued.api_key.expose_secret()
            );
        }
        TenantCommand::RotateKey { id } => {
            let id = simgate_service::tenants::tenant_id(&id)?;
            let issued = services.rotate_tenant_key(&id).await?;
            println!(
                "tenant: {}\napi key: {}\n(the previous keys no longer work; store this one now)",
                issued.tenant.id,
                issued.api_key.expose_secret()
            );
        }
        TenantCommand::Disable { id } => {
            let id = simgate_service::tenants::tenant_id(&id)?;
            let tenant = services.disable_tenant(&id).await?;
            println!("{}", tenant_line(&tenant));
        }
        TenantCommand::Fund {
            id,
            amount,
            reference,
            note,
        } => {
            let id = simgate_service::tenants::tenant_id(&id)?;
            let amount = decimal_arg(&amount, "--amount")?;
            let currency = services.tenant_account_of(&id).await?.currency;
            let funded = services
                .fund_account(&id, amount, currency, &reference, note.as_deref())
                .await?;
            if !funded.created {
                eprintln!("reference {reference:?} was posted before: nothing changed");
            }
            println!(
                "{} {} {} ({})",
                funded.entry.kind,
                simgate_domain::account::signed_money(funded.entry.amount_micros, currency),
                funded.entry.reference,
                funded.entry.id
            );
            println!("{}", account_line(&funded.account));
        }
        TenantCommand::Account {
            id,
            mode,
            currency,
            credit_limit,
        } => {
            let id = simgate_service::tenants::tenant_id(&id)?;
            let mut account = services.tenant_account_of(&id).await?;
            if let Some(mode) = mode {
                let mode: simgate_domain::AccountMode = mode.parse()?;
                let currency = match currency {
                    Some(code) => simgate_domain::Currency::parse(&code)?,
                    None => account.currency,
                };
                let limit = credit_limit
                    .map(|raw| {
                        decimal_arg(&raw, "--credit-limit")
                            .and_then(|amount| Ok(simgate_domain::Money::new(amount, currency)?))
                    })
                    .transpose()?;
                account = services
                    .set_account_terms(&id, mode, currency, limit)
                    .await?;
            } else if currency.is_some() || credit_limit.is_some() {
                return Err("--currency and --credit-limit go with --mode".into());
            }
            println!("{}", account_line(&account));
        }
    }
    Ok(())
}

/// An exact decimal from a command-line argument.
fn decimal_arg(raw: &str, flag: &str) -> Result<rust_decimal::Decimal, Box<dyn std::error::Error>> {
    raw.trim()
        .parse()
        .map_err(|_| format!("{flag}: {raw:?} is not a decimal amount").into())
}

/// One line of a tenant's account for `simgate tenants account|fund`.
fn account_line(account: &simgate_domain::Account) -> String {
    let money = |micros| simgate_domain::account::signed_money(micros, account.currency);
    let limit = match account.mode {
        simgate_domain::AccountMode::Credit => {
            format!(" limit {}", money(account.credit_limit_micros))
        }
        simgate_domain::AccountMode::Prepaid => String::new(),
    };
    format!(
        "{}\t{}{limit}\tbalance {}\theld {}\tavailable {}",
        account.tenant_id,
        account.mode.as_str(),
        money(account.balance_micros),
        money(account.held_micros),
        money(account.available_micros()),
    )
}

/// `simgate fx …`: the same use cases as `/admin/v1/fx`.
async fn administer_fx(
    settings: &Settings,
    command: FxCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let (services, _, _) = simgate::services(settings).await?;
    let rates = match command {
        FxCommand::List => services.fx_rates().await?,
        FxCommand::Set { base, quote, rate } => {
            let rate = simgate::fx::parse_rate(&base, &quote, &rate)?;
            services.set_fx_rates(&[rate], false).await?
        }
        FxCommand::Load { file, replace } => {
            let rates = simgate::fx::read_rates_file(&file)?;
            services.set_fx_rates(&rates, replace).await?
        }
    };
    if rates.is_empty() {
        eprintln!("no FX rates yet: set one with `simgate fx set USD EUR 0.92`");
    }
    for rate in rates {
        println!("{}\t{}\t{}", rate.base, rate.quote, rate.rate.normalize());
    }
    Ok(())
}

/// `simgate routing show`: the decision an offer order of the tenant would
/// get now. A weighted policy draws afresh, as an order would.
async fn show_routing(
    settings: &Settings,
    tenant: &str,
    offer: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let (services, _, _) = simgate::services(settings).await?;
    let tenant = simgate_service::tenants::tenant_id(tenant)?;
    if !services
        .list_tenants()
        .await?
        .iter()
        .any(|account| account.id == tenant.as_str())
    {
        return Err(simgate_service::ServiceError::TenantNotFound(tenant.to_string()).into());
    }
    let offer = simgate_domain::orchestration::OfferId::parse(offer)?;
    let decision = services.route_offer(&tenant, &offer).await?;
    let key = &decision.offer.key;
    let data = key
        .data_mb
        .map_or_else(|| "unlimited".to_owned(), |mb| format!("{mb} MB"));
    let countries: Vec<&str> = key
        .countries
        .iter()
        .map(simgate_domain::CountryCode::as_str)
        .collect();
    println!(
        "offer {offer}: {}, {data}, {} days; tenant {tenant}",
        countries.join(","),
        key.validity_days
    );
    let plan = &decision.plan;
    match plan.country_override {
        Some(country) => println!("strategy {} (override for {country})", plan.strategy),
        None => println!("strategy {}", plan.strategy),
    }
    let ranked = plan.order.iter().filter_map(|&i| plan.explanations.get(i));
    let skipped = plan.explanations.iter().filter(|e| {
        matches!(
            e.verdict,
            simgate_domain::orchestration::Verdict::Skipped(_)
        )
    });
    for explanation in ranked.chain(skipped) {
        let product = decision
            .candidates
            .get(explanation.candidate)
            .map_or_else(String::new, |c| c.product_id.to_string());
        println!("{explanation}\t{product}");
    }
    for (candidate, why) in &decision.unroutable {
        println!(
            "skip {}: {why}\t{}",
            candidate.provider, candidate.product_id
        );
    }
    if plan.order.is_empty() {
        eprintln!("no candidate would be tried: an order of this offer would fail now");
    }
    Ok(())
}

/// One tab-separated line per tenant: id, state, name, created, key prefixes.
fn tenant_line(tenant: &TenantAccount) -> String {
    let state = match tenant.disabled_at {
        Some(at) => format!("disabled {}", at.to_rfc3339()),
        None => "enabled".to_owned(),
    };
    format!(
        "{}\t{}\t{}\tcreated {}\tkeys {}",
        tenant.id,
        state,
        tenant.name,
        tenant.created_at.to_rfc3339(),
        tenant.key_prefixes.join(",")
    )
}

/// Serves one provider's sandbox until Ctrl-C, after printing where it
/// listens and the (sandbox-only) credentials a simgate needs to reach it.
async fn run_sandbox(
    provider: ProviderId,
    listen: SocketAddr,
    webhook_url: Option<String>,
    options_file: Option<PathBuf>,
    catalogue_size: Option<usize>,
) -> Result<(), Box<dyn std::error::Error>> {
    if options_file.is_some() && provider != ProviderId::EsimStory {
        return Err("--options-file is for --provider esim-story only".into());
    }
    if catalogue_size.is_some() && provider != ProviderId::EsimGo {
        return Err("--catalogue-size is for --provider esim-go only".into());
    }
    let options = simgate::settings::SandboxSettings {
        catalogue_size,
        ..simgate::settings::SandboxSettings::default()
    };
    let entry = simgate::providers::provider(provider);
    if webhook_url.is_some() && !entry.sandbox_sends_webhooks {
        return Err(format!("the {provider} sandbox sends no webhooks: drop --webhook-url").into());
    }
    let running = (entry.start_sandbox)(listen, &options).await?;
    running.set_webhook_url(webhook_url);
    if let Some(path) = &options_file {
        let mut providers = simgate::settings::Providers::default();
        running.configure(&mut providers);
        let options = providers
            .esim_story
            .map(|story| story.options)
            .unwrap_or_default();
        std::fs::write(path, serde_json::to_vec_pretty(&options)?)?;
    }
    eprintln!("{}", running.banner);
    tokio::signal::ctrl_c().await?;
    Ok(())
}

async fn sync_catalogue(
    settings: &Settings,
    only: Option<ProviderId>,
) -> Result<(), Box<dyn std::error::Error>> {
    let (services, _, _) = simgate::services(settings).await?;
    let providers: Vec<ProviderId> = services
        .connectors
        .all()
        .map(|c| c.provider())
        .filter(|p| only.is_none_or(|o| o == *p))
        .collect();
    if providers.is_empty() {
        return Err("no configured provider to sync (see README: configuration)".into());
    }
    let mut failed = false;
    for provider in providers {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} bundles {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(provider.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        let result = services
            .sync_catalogue(provider, &|p| {
                if let Some(total) = p.total {
                    bar.set_length(total as u64);
                }
                bar.set_position(p.fetched as u64);
            })
            .await;
        match result {
            Ok(report) => {
                let summary = format!(
                    "stored {} products in {:.1}s",
                    report.products,
                    report.took.as_secs_f64()
                );
                bar.finish_and_clear();
                println!("{provider}: {summary}");
            }
            Err(error) => {
                bar.finish_and_clear();
                eprintln!("{provider}: failed: {error}");
                failed = true;
            }
        }
    }
    if failed {
        return Err("some catalogues failed to sync".into());
    }
    Ok(())
}
