// The exporter daemon (ExporterApp) started inside the test process, so a test can call its
// HTTP routes and inspect it: created from `options`, bound, scheduler started. Failures are
// reported to GoogleTest. Not thread-safe; for test set-up and tear-down.
#pragma once

#include <memory>

#include "exporter/daemon/app.h"

namespace smtp_exporter::testing {

// Creates, binds and starts an ExporterApp; nullptr (and a test failure naming the cause) if
// the config does not load or the address cannot be bound. Tests listen on "127.0.0.1:0"
// (a port the kernel picks; app->port() tells which).
// `dependencies` replace the network (a fake resolver, scripted transports) for hermetic tests.
std::unique_ptr<ExporterApp> StartInProcessExporter(const AppOptions& options,
                                                    AppDependencies dependencies = {});

// Shuts `app` down and waits for it; nothing if it is null.
void StopInProcessExporter(const std::unique_ptr<ExporterApp>& app);

}  // namespace smtp_exporter::testing
