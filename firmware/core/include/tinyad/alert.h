// Alert state machine (docs/protocol.md, "Scoring and alerts"): threshold on, lower threshold off (hysteresis),
// a minimum number of consecutive windows at or above `on` before ALERT, and cooldown windows after clearing.
#pragma once
#include <cstdint>

namespace tinyad {

enum class AlertState : uint8_t { kOk = 0, kPending = 1, kAlert = 2, kCooldown = 3 };

struct AlertConfig {
  float threshold_on = 1.0f;
  float threshold_off = 0.5f;       // must be <= threshold_on
  uint32_t min_windows = 3;         // >= 1
  uint32_t cooldown_windows = 10;
};

class AlertMachine {
 public:
  explicit AlertMachine(const AlertConfig& config = AlertConfig{}) : config_(config) {}
  // Feeds one (smoothed) score; returns the state after this window.
  AlertState step(float score);
  void reset();
  void set_config(const AlertConfig& config) { config_ = config; }
  const AlertConfig& config() const { return config_; }
  AlertState state() const { return state_; }
  uint32_t pending_count() const { return pending_; }
  uint32_t cooldown_left() const { return cooldown_left_; }
  uint32_t alerts_raised() const { return alerts_raised_; }

 private:
  AlertConfig config_;
  AlertState state_ = AlertState::kOk;
  uint32_t pending_ = 0;
  uint32_t cooldown_left_ = 0;
  uint32_t alerts_raised_ = 0;
};

}  // namespace tinyad
