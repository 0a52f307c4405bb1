// Step: privileges. After this the worker can never gain a privilege again: no capabilities in
// any set, an empty bounding set, no_new_privs, not dumpable, and a session of its own.
#pragma once

namespace cordon::worker {

void dropPrivileges();

}  // namespace cordon::worker
