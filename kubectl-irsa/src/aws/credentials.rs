//! The default credential chain, with its "nothing found" said in terms of the profile: the
//! chain's own error only says that no provider in it provided credentials.

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};

/// Every provider of the default chain came back empty, for this profile (`None`: none named).
#[derive(Debug, thiserror::Error)]
#[error("no provider of the default credential chain found credentials")]
pub struct NoCredentialsFound {
    pub profile: Option<String>,
    #[source]
    source: CredentialsError,
}

/// Wraps the default chain so that its "not loaded" carries the profile that was tried.
#[derive(Debug)]
pub struct Explaining {
    inner: SharedCredentialsProvider,
    profile: Option<String>,
}

impl Explaining {
    pub fn wrap(
        inner: SharedCredentialsProvider,
        profile: Option<String>,
    ) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(Explaining { inner, profile })
    }
}

impl ProvideCredentials for Explaining {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.inner
                .provide_credentials()
                .await
                .map_err(|error| match error {
                    CredentialsError::CredentialsNotLoaded(_) => {
                        CredentialsError::not_loaded(NoCredentialsFound {
                            profile: self.profile.clone(),
                            source: error,
                        })
                    }
                    other => other,
                })
        })
    }
}
