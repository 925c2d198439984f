//! Providers: configuring each provider block once, finding a resource's provider, and calling it (one operation under the shared bound, with progress events and timings).

use super::*;

impl Runner<'_> {
    pub(super) async fn configure_provider(&self, p: usize) -> Result<(), EngineError> {
        let block = &self.graph.providers[p];
        let key = provider_key(&block.name, block.alias.as_deref());
        let config = self
            .with_scope(&Vec::new(), |scope| eval_body(&block.body, scope))
            .map_err(|d| {
                diag_error(
                    format!(
                        "unit {}: provider \"{key}\" cannot be evaluated",
                        self.unit_name()
                    ),
                    d,
                )
            })?;
        if !config.is_wholly_known() {
            return Err(EngineError::new(ErrorKind::Configuration, format!("unit {}: provider \"{key}\" depends on values known only after apply", self.unit_name()))
                .cause(format!("provider block at {}", block.location))
                .hint("configure providers from variables whose values are known when planning (not from dependency outputs that do not exist yet)"));
        }
        self.report_provider_config(block, &config);
        let provider = self
            .configure(&block.name, &key, &config)
            .await
            .map_err(|e| e.cause(format!("provider block at {}", block.location)))?;
        self.providers.lock().await.insert(key, provider);
        Ok(())
    }

    /// What the provider does not act on in this block: notices at each argument
    /// (refusals come back from `configure` as its error).
    fn report_provider_config(&self, block: &forge_config::ProviderBlock, config: &Value) {
        let Some(factory) = self
            .run
            .ctx
            .factories
            .iter()
            .find(|f| f.name() == block.name)
        else {
            return;
        };
        for d in crate::provider_config::config_diagnostics(factory.as_ref(), block, config) {
            if d.severity == forge_lang::Severity::Warning {
                (self.run.ctx.events)(Event::Notice {
                    unit: Some(self.unit_name().to_string()),
                    message: crate::provider_config::notice_text(&d),
                });
            }
        }
    }

    pub(super) async fn configure(
        &self,
        name: &str,
        key: &str,
        config: &Value,
    ) -> Result<Arc<dyn Provider>, EngineError> {
        let factory = self
            .run
            .ctx
            .factories
            .iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.run.ctx.factories.iter().map(|f| f.name()).collect();
                EngineError::new(
                    ErrorKind::Configuration,
                    format!("unit {}: no provider named \"{name}\"", self.unit_name()),
                )
                .hint(format!("forge provides: {}", known.join(", ")))
            })?;
        let _permit = self
            .run
            .ctx
            .permits
            .acquire()
            .await
            .map_err(|_| EngineError::new(ErrorKind::Interrupted, "the run was cancelled"))?;
        // The unit's iam_role (Terragrunt) is the identity its providers start from, and
        // its root module's folder the one relative file paths are read from.
        let role = self.run.unit.settings.role();
        let module_dir = &self.run.unit.module.dir;
        factory
            .configure_in(config, role, module_dir)
            .await
            .map_err(|e| {
                EngineError::provider(
                    &format!("unit {}: provider \"{key}\"", self.unit_name()),
                    "configuration",
                    &e,
                )
            })
    }

    /// The preamble every resource and data block shares: the configured provider the
    /// block uses (in module `m`) and its alias.
    pub(super) async fn block_provider(
        &self,
        m: usize,
        rb: &ResourceBlock,
    ) -> Result<(Arc<dyn Provider>, Option<String>), Vec<EngineError>> {
        let (_, alias) = self.graph.provider_of(m, rb).map_err(|e| vec![e])?;
        let provider = self
            .provider_for(&rb.type_name, alias.as_deref())
            .await
            .map_err(|e| vec![e])?;
        Ok((provider, alias))
    }

    /// A block's arguments against its type's schema (`what` names the block in the
    /// findings, `heading` is the error's message). The findings are reported for the
    /// first instance of the block's module only (`first`); the others fail quietly.
    pub(super) fn check_block_schema(
        schema: &Schema,
        rb: &ResourceBlock,
        what: &str,
        first: bool,
        heading: impl FnOnce() -> String,
    ) -> Result<(), Vec<EngineError>> {
        let checks = check_body(schema, &rb.body, what, &rb.location);
        if !checks.has_errors() {
            return Ok(());
        }
        if !first {
            return Err(Vec::new());
        }
        Err(vec![diag_error(heading(), checks)])
    }

    /// The configured provider for a resource type; one without a block is configured
    /// empty, as Terraform does.
    pub(super) async fn provider_for(
        &self,
        type_name: &str,
        alias: Option<&str>,
    ) -> Result<Arc<dyn Provider>, EngineError> {
        let name = provider_name_of(type_name);
        let key = provider_key(name, alias);
        let mut providers = self.providers.lock().await;
        if let Some(p) = providers.get(&key) {
            return Ok(p.clone());
        }
        if alias.is_some() {
            return Err(EngineError::new(
                ErrorKind::Configuration,
                format!(
                    "unit {}: no provider \"{key}\" is configured",
                    self.unit_name()
                ),
            )
            .hint(format!(
                "add a provider \"{name}\" block with alias = \"{}\"",
                alias.unwrap_or_default()
            )));
        }
        let p = self
            .configure(name, &key, &Value::Object(BTreeMap::new()))
            .await?;
        providers.insert(key, p.clone());
        Ok(p)
    }

    /// One provider call under the shared bound, with progress events when applying.
    pub(super) async fn call<T>(
        &self,
        addr: &InstanceAddr,
        kind: OpKind,
        report: bool,
        fut: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, EngineError>
    where
        T: IdOf,
    {
        let _permit = self
            .run
            .ctx
            .permits
            .acquire()
            .await
            .map_err(|_| EngineError::new(ErrorKind::Interrupted, "the run was cancelled"))?;
        if !matches!(
            kind,
            OpKind::Reading | OpKind::Importing | OpKind::PreparingImport
        ) {
            self.run.ctx.check_interrupted().map_err(|e| EngineError {
                message: format!("{addr}: {}", e.message),
                ..e
            })?;
            if self.recorder.has_failed() {
                return Err(EngineError::new(
                    ErrorKind::Backend,
                    format!("{addr}: not started: the state could not be written"),
                )
                .hint("see the state write error; run the command again to continue"));
            }
        }
        let report = report || (self.phase.applying() && kind == OpKind::Destroying);
        let address = addr.to_string();
        let emit = |status: OpStatus| {
            if report {
                (self.run.ctx.events)(Event::Op {
                    unit: self.unit_name().to_string(),
                    address: address.clone(),
                    kind,
                    status,
                });
            }
        };
        emit(OpStatus::Started);
        let start = Instant::now();
        // The SDK's own events (requests, retries, request ids) inside the operation carry
        // its unit and address in FORGE_LOG's output.
        let span =
            tracing::debug_span!("op", unit = %self.unit_name(), address = %address, kind = ?kind);
        let fut = tracing::Instrument::instrument(fut, span);
        tokio::pin!(fut);
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + self.run.ctx.progress_every,
            self.run.ctx.progress_every,
        );
        let slow = !matches!(
            kind,
            OpKind::Reading | OpKind::Importing | OpKind::PreparingImport
        );
        let fut = async {
            let result = fut.await;
            if slow {
                crate::fault_injection::slow_operation().await;
            }
            result
        };
        tokio::pin!(fut);
        let result = loop {
            tokio::select! {
                r = &mut fut => break r,
                _ = ticker.tick() => emit(OpStatus::Still(start.elapsed())),
            }
        };
        self.log_op(addr, kind, start, result.is_ok());
        tracing::debug!(
            unit = %self.unit_name(),
            address = %address,
            kind = ?kind,
            elapsed_ms = start.elapsed().as_millis() as u64,
            ok = result.is_ok(),
            "provider operation finished"
        );
        match result {
            Ok(v) => {
                emit(OpStatus::Done(start.elapsed(), v.id_of()));
                Ok(v)
            }
            Err(e) => {
                emit(OpStatus::Failed(start.elapsed()));
                let doing = match kind {
                    OpKind::Reading => "reading",
                    OpKind::Importing | OpKind::PreparingImport => "importing",
                    OpKind::Creating => "creating",
                    OpKind::Modifying => "updating",
                    OpKind::Destroying => "deleting",
                };
                Err(EngineError::provider(&address, doing, &e))
            }
        }
    }

    /// Logs a finished provider operation with the resources its block refers to.
    pub(super) fn log_op(
        &self,
        addr: &InstanceAddr,
        kind: OpKind,
        start: Instant,
        succeeded: bool,
    ) {
        let resource = addr.config_resource();
        let refers_to = self
            .graph
            .node_named(&resource)
            .map(|n| resource_references(&self.graph, n))
            .unwrap_or_default();
        self.run.ctx.op_log.push(OpTiming {
            unit: self.unit_name().to_string(),
            address: addr.to_string(),
            resource,
            kind,
            start,
            elapsed: start.elapsed(),
            refers_to,
            succeeded,
        });
    }
}

pub(super) fn unknown_type(rb: &ResourceBlock, names: Vec<&'static str>) -> EngineError {
    let mut d = Diagnostic::error(format!(
        "the {} provider has no resource type `{}`",
        provider_name_of(&rb.type_name),
        rb.type_name
    ))
    .at(rb.location.clone());
    if let Some(s) = forge_lang::diagnostic::did_you_mean(&rb.type_name, names.iter().copied()) {
        d = d.hint(format!("did you mean `{s}`?"));
    }
    EngineError::config(
        format!("{} names an unknown resource type", rb.address()),
        d.into(),
    )
}

/// `provider["registry.terraform.io/hashicorp/aws"].west` -> ("aws", Some("west")).
pub(crate) fn parse_provider_address(text: &str) -> Option<(String, Option<String>)> {
    let start = text.find("[\"")? + 2;
    let end = text[start..].find("\"]")? + start;
    let name = text[start..end].rsplit('/').next()?.to_string();
    let rest = &text[end + 2..];
    let alias = rest.strip_prefix('.').map(str::to_string);
    Some((name, alias))
}
