//! A provider webhook or callback secret configured empty (or blank) is
//! refused at start-up: an empty header would otherwise match it.

use std::time::Duration;

use simgate::settings::SettingsError;
use simgate::{Application, EsimStorySettings, SimLocalSettings, StartError};
use simgate_sandbox::sim_local::SimLocalSandboxConfig;

use crate::helpers::{Options, Sandbox, settings_for};

/// Starts an app whose settings `blank` spoils; returns the start error.
async fn start_error(blank: impl FnOnce(&mut simgate::settings::Settings)) -> StartError {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_for(&sandbox, &dir, &Options::default());
    let (_story_handle, _story, story) =
        simgate::start_esim_story_sandbox(([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
    settings.providers.esim_story = Some(EsimStorySettings {
        timeout_secs: 5,
        ..story
    });
    let (_sim_local_handle, _sim_local, sim_local) = simgate::start_sim_local_sandbox(
        ([127, 0, 0, 1], 0).into(),
        SimLocalSandboxConfig {
            step: Duration::from_millis(30),
            ..SimLocalSandboxConfig::default()
        },
    )
    .await
    .unwrap();
    settings.providers.sim_local = Some(SimLocalSettings {
        timeout_secs: 5,
        ..sim_local
    });
    blank(&mut settings);
    let checked = simgate::check_settings(&settings).map(drop);
    let started = Application::start(&settings).await.map(drop);
    let (Err(checked), Err(started)) = (checked, started) else {
        panic!("settings with a blank secret are accepted");
    };
    assert_eq!(checked.to_string(), started.to_string());
    started
}

#[tokio::test]
async fn an_empty_or_blank_provider_webhook_secret_stops_the_start() {
    let story = start_error(|settings| {
        if let Some(story) = settings.providers.esim_story.as_mut() {
            story.webhook_secret = "".into();
        }
    })
    .await;
    assert!(
        matches!(
            story,
            StartError::Settings(SettingsError::EmptySecret(
                "providers.esim_story.webhook_secret"
            ))
        ),
        "{story}"
    );
    assert!(
        story
            .to_string()
            .contains("providers.esim_story.webhook_secret is empty"),
        "{story}"
    );

    let sim_local = start_error(|settings| {
        if let Some(sim_local) = settings.providers.sim_local.as_mut() {
            sim_local.webhook_api_key = " \t ".into();
        }
    })
    .await;
    assert!(
        sim_local
            .to_string()
            .contains("providers.sim_local.webhook_api_key is empty"),
        "{sim_local}"
    );

    let esim_go = start_error(|settings| {
        if let Some(esim_go) = settings.providers.esim_go.as_mut() {
            esim_go.api_key = "".into();
        }
    })
    .await;
    assert!(
        esim_go
            .to_string()
            .contains("providers.esim_go.api_key is empty"),
        "{esim_go}"
    );
}
