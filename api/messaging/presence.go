package messaging

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// presence keeps who is viewing which ticket in Redis, shared by every
// replica: one sorted set per ticket whose members are connections
// ("<conn id>|<user id>|<name>") scored by when they expire. A replica
// refreshes its own members while their sockets live; the members of a
// replica that died expire on their own.
type presence struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
}

func (p *presence) key(ticketID string) string { return p.prefix + "messaging:presence:" + ticketID }

// presenceMember names one connection viewing a ticket.
func presenceMember(connID string, v Viewer) string {
	return connID + "|" + v.UserID + "|" + v.Name
}

// join adds member to the ticket's viewers and returns them all.
func (p *presence) join(ctx context.Context, ticketID, member string) ([]Viewer, error) {
	return p.change(ctx, ticketID, func(pipe redis.Pipeliner, key string, now time.Time) {
		pipe.ZAdd(ctx, key, redis.Z{Score: p.expiry(now), Member: member})
	})
}

// leave removes member from the ticket's viewers and returns the others.
func (p *presence) leave(ctx context.Context, ticketID, member string) ([]Viewer, error) {
	return p.change(ctx, ticketID, func(pipe redis.Pipeliner, key string, _ time.Time) {
		pipe.ZRem(ctx, key, member)
	})
}

// viewers returns who views the ticket now.
func (p *presence) viewers(ctx context.Context, ticketID string) ([]Viewer, error) {
	return p.change(ctx, ticketID, func(redis.Pipeliner, string, time.Time) {})
}

// change applies edit to the ticket's set, drops the expired members and
// reads the rest, in one transaction.
func (p *presence) change(ctx context.Context, ticketID string, edit func(redis.Pipeliner, string, time.Time)) ([]Viewer, error) {
	key, now := p.key(ticketID), time.Now()
	var members *redis.StringSliceCmd
	_, err := p.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		edit(pipe, key, now)
		pipe.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		pipe.PExpire(ctx, key, 2*p.ttl)
		members = pipe.ZRange(ctx, key, 0, -1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("presence of ticket %s: %w", ticketID, err)
	}
	return parseViewers(members.Val()), nil
}

// refresh extends the life of this replica's members (ticket ID → its
// members here) and drops the expired ones, which other replicas left
// behind. It returns the tickets that lost a viewer that way.
func (p *presence) refresh(ctx context.Context, members map[string][]string) ([]string, error) {
	now := time.Now()
	pruned := make(map[string]*redis.IntCmd, len(members))
	_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for ticketID, ms := range members {
			key := p.key(ticketID)
			zs := make([]redis.Z, len(ms))
			for i, m := range ms {
				zs[i] = redis.Z{Score: p.expiry(now), Member: m}
			}
			// XX: a member that left meanwhile must not come back.
			pipe.ZAddXX(ctx, key, zs...)
			pruned[ticketID] = pipe.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
			pipe.PExpire(ctx, key, 2*p.ttl)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("refresh presence: %w", err)
	}
	var changed []string
	for ticketID, n := range pruned {
		if n.Val() > 0 {
			changed = append(changed, ticketID)
		}
	}
	return changed, nil
}

func (p *presence) expiry(now time.Time) float64 { return float64(now.Add(p.ttl).UnixMilli()) }

// parseViewers turns members into viewers, each user once (a user may view
// a ticket from several tabs), ordered by name.
func parseViewers(members []string) []Viewer {
	seen := make(map[string]bool, len(members))
	viewers := make([]Viewer, 0, len(members))
	for _, m := range members {
		parts := strings.SplitN(m, "|", 3)
		if len(parts) != 3 || seen[parts[1]] {
			continue
		}
		seen[parts[1]] = true
		viewers = append(viewers, Viewer{UserID: parts[1], Name: parts[2]})
	}
	slices.SortFunc(viewers, func(a, b Viewer) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.UserID, b.UserID))
	})
	return viewers
}
