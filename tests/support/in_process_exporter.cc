#include "tests/support/in_process_exporter.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <variant>

namespace smtp_exporter::testing {

std::unique_ptr<ExporterApp> StartInProcessExporter(const AppOptions& options,
                                                    AppDependencies dependencies) {
  auto created = ExporterApp::Create(options, std::move(dependencies));
  if (auto* error = std::get_if<std::string>(&created)) {
    ADD_FAILURE() << "config " << options.config_path << " did not load: " << *error;
    return nullptr;
  }
  auto app = std::move(std::get<std::unique_ptr<ExporterApp>>(created));
  if (auto error = app->Bind()) {
    ADD_FAILURE() << "cannot listen on " << options.listen_address << ": " << *error;
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
