#include "tests/support/in_process_exporter.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <variant>

namespace smtp_exporter::testing {

std::unique_ptr<ExporterApp> StartInProcessExporter(const AppOptions& options,
                                                    AppDependencies dependencies) {
  Result<std::unique_ptr<ExporterApp>> created =
      ExporterApp::Create(options, std::move(dependencies));
  if (!created.ok()) {
    ADD_FAILURE() << "config " << options.config_path
                  << " did not load: " << created.error().message;
    return nullptr;
  }
  std::unique_ptr<ExporterApp> app = std::move(created).value();
  if (Status bound = app->Bind(); !bound.ok()) {
    ADD_FAILURE() << "cannot listen on " << options.listen_address << ": " << bound.message();
    return nullptr;
  }
  app->Start();
  return app;
}

void StopInProcessExporter(const std::unique_ptr<ExporterApp>& app) {
  if (app) {
    app->Shutdown();
    app->Wait();
  }
}

}  // namespace smtp_exporter::testing
