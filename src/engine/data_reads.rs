//! Data-source reads shared within one process run: the same data source of the same
//! provider configuration with the same arguments is read from AWS once, however many
//! units declare it (two units looking up the same AMI or default VPC) and across the
//! plan and apply phases of one `forge apply`. Terraform, too, uses a data source's
//! plan-time value when applying (unless its arguments were unknown at plan, in which
//! case the arguments differ and it is read again). Failed reads are not kept.

use std::sync::{Arc, Mutex};

use forge_provider::{DataSourceType, ProviderResult, Value};
use tokio::sync::OnceCell;

type Entry = (usize, &'static str, Value, Arc<OnceCell<Value>>);

#[derive(Debug, Default)]
pub struct DataReads {
    entries: Mutex<Vec<Entry>>,
}

impl DataReads {
    /// Reads through the cache. `provider` identifies the configured provider instance
    /// (the factory shares one per distinct configuration). Returns the value and whether
    /// this call went to the provider.
    pub async fn read(
        &self,
        provider: usize,
        ds: &dyn DataSourceType,
        config: &Value,
    ) -> ProviderResult<(Value, bool)> {
        let cell = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            match entries
                .iter()
                .find(|(p, t, c, _)| *p == provider && *t == ds.type_name() && c == config)
            {
                Some((_, _, _, cell)) => cell.clone(),
                None => {
                    let cell = Arc::new(OnceCell::new());
                    entries.push((provider, ds.type_name(), config.clone(), cell.clone()));
                    cell
                }
            }
        };
        let mut fresh = false;
        // Concurrent readers of the same entry wait for the first one's answer.
        let value = cell
            .get_or_try_init(|| async {
                fresh = true;
                ds.read(config).await
            })
            .await?
            .clone();
        Ok((value, fresh))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use forge_provider::{ProviderError, Schema};
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        reads: AtomicUsize,
        schema: Schema,
    }

    #[async_trait]
    impl DataSourceType for Counting {
        fn type_name(&self) -> &'static str {
            "fake_lookup"
        }
        fn schema(&self) -> &Schema {
            &self.schema
        }
        async fn read(&self, config: &Value) -> ProviderResult<Value> {
            let n = self.reads.fetch_add(1, Ordering::SeqCst);
            if config.str_attr("name") == Some("broken") && n == 0 {
                return Err(ProviderError::new("first read fails"));
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            Ok(Value::object([("id", Value::string(format!("read-{n}")))]))
        }
    }

    #[tokio::test]
    async fn same_arguments_read_once_others_and_failures_read_again() {
        let ds = Counting {
            reads: AtomicUsize::new(0),
            schema: Schema::new(),
        };
        let cache = DataReads::default();
        let a = Value::object([("name", Value::string("a"))]);
        let b = Value::object([("name", Value::string("b"))]);
        let (first, second) = tokio::join!(cache.read(1, &ds, &a), cache.read(1, &ds, &a));
        let (first, second) = (first.expect("read"), second.expect("read"));
        assert_eq!(first.0, second.0);
        assert!(
            first.1 != second.1,
            "exactly one of two concurrent readers reads"
        );
        assert_eq!(ds.reads.load(Ordering::SeqCst), 1);
        // Other arguments, or another provider configuration: read.
        assert!(cache.read(1, &ds, &b).await.expect("read").1);
        assert!(cache.read(2, &ds, &a).await.expect("read").1);
        assert_eq!(ds.reads.load(Ordering::SeqCst), 3);
        // A failure is not kept.
        let broken = Value::object([("name", Value::string("broken"))]);
        let ds2 = Counting {
            reads: AtomicUsize::new(0),
            schema: Schema::new(),
        };
        assert!(cache.read(1, &ds2, &broken).await.is_err());
        assert!(cache.read(1, &ds2, &broken).await.expect("second try").1);
    }
}
