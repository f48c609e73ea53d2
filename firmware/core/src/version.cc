#include "tinyad/version.h"

namespace tinyad {

const char* firmware_version_string() { return "0.1.0"; }

}  // namespace tinyad
