package redisstore_test

const childRoleEnv = "LOCKSTEP_REDIS_CHILD"

func runChild(role string) int { return 2 }
