#include "tinyad/alert.h"

namespace tinyad {

void AlertMachine::reset() {
  state_ = AlertState::kOk;
  pending_ = 0;
  cooldown_left_ = 0;
  alerts_raised_ = 0;
}

AlertState AlertMachine::step(float score) {
  const uint32_t min_windows = config_.min_windows == 0 ? 1 : config_.min_windows;
  if (state_ == AlertState::kCooldown) {
    if (cooldown_left_ > 0) {
      --cooldown_left_;
      return state_;  // score ignored
    }
    state_ = AlertState::kOk;  // cooldown over: this window is judged as in OK
  }
  switch (state_) {
    case AlertState::kOk:
    case AlertState::kPending:
      if (score >= config_.threshold_on) {
        pending_ = (state_ == AlertState::kOk) ? 1 : pending_ + 1;
        if (pending_ >= min_windows) {
          state_ = AlertState::kAlert;
          pending_ = 0;
          ++alerts_raised_;
        } else {
          state_ = AlertState::kPending;
        }
      } else {
        state_ = AlertState::kOk;
        pending_ = 0;
      }
      break;
    case AlertState::kAlert:
      if (score < config_.threshold_off) {
        cooldown_left_ = config_.cooldown_windows;
        state_ = cooldown_left_ > 0 ? AlertState::kCooldown : AlertState::kOk;
      }
      break;
    case AlertState::kCooldown:
      break;  // handled above
  }
  return state_;
}

}  // namespace tinyad
