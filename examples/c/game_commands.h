/*
 * game_commands: custom commands a game server would add to kevy, built on kevy's own
 * sorted sets and counters through kevy_ctx_call.
 *
 *   LEADERBOARD.ADD key player points   add points (may be negative); the new score
 *   LEADERBOARD.TOPN key n              the n best: [[player, score], ...]
 *   LEADERBOARD.RANK key player         1-based rank, best first; nil if absent
 *   RATELIMIT.HIT key limit window_ms   [allowed 1|0, hits left, ms until reset]
 */
#ifndef GAME_COMMANDS_H
#define GAME_COMMANDS_H

#include <kevy.h>

/* Registers the commands on a running server. KEVY_OK or the first failure. */
kevy_status game_commands_register(kevy_server *server);

#endif
