package testkit_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lockstep-go/lockstep/internal/testkit"
)

func TestMain(m *testing.M) {
	if role := testkit.Role(); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}

// runChild plays the roles of the tests below.
func runChild(role string) int {
	switch role {
	case "echo": // says hello, then echoes each line until stdin ends
		fmt.Println("hello", os.Getenv("TESTKIT_NAME"))
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			fmt.Println(in.Text())
		}
		return 0
	case "fail":
		fmt.Fprintln(os.Stderr, "something broke")
		return 3
	case "hang": // ignores stdin's end
		fmt.Println("hanging")
		time.Sleep(time.Hour) // (a bare select{} would die as a deadlock)
	}
	return 2
}

func TestChildRoundTrip(t *testing.T) {
	c := testkit.StartT(t, "echo", "TESTKIT_NAME=kit")
	assert.Equal(t, "hello kit", c.Line(t))
	require.NoError(t, c.Send("ping"))
	assert.Equal(t, "ping", c.Line(t))
	require.NoError(t, c.Wait())
	_, err := c.ReadLine()
	assert.Error(t, err, "ReadLine after the child ended")
}

func TestChildFailureCarriesStderr(t *testing.T) {
	c := testkit.StartT(t, "fail")
	err := c.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 3, exit.ExitCode())
	assert.Contains(t, err.Error(), "something broke")
	assert.Equal(t, err, c.Wait(), "a second Wait")
}

func TestChildKillAndStop(t *testing.T) {
	c := testkit.StartT(t, "hang")
	assert.Equal(t, "hanging", c.Line(t))
	require.NoError(t, c.Kill())
	var exit *exec.ExitError
	if assert.ErrorAs(t, c.Wait(), &exit, "Wait after Kill") {
		assert.Equal(t, -1, exit.ExitCode(), "exit code of a killed child")
	}

	c = testkit.StartT(t, "hang")
	assert.Equal(t, "hanging", c.Line(t))
	if assert.ErrorAs(t, c.Stop(10*time.Millisecond), &exit, "Stop of a child that does not end") {
		assert.Equal(t, -1, exit.ExitCode(), "exit code of a child Stop killed")
	}
}

func TestNames(t *testing.T) {
	// SHA-256 of "abc", the FIPS 180-2 test vector.
	const key = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	assert.Equal(t, key, testkit.Key("abc"))
	assert.Equal(t, filepath.Join("d", "session-"+key), testkit.RecordPath("d", "abc"))
	assert.Equal(t, filepath.Join("d", "session-"+key+".lock"), testkit.LockPath("d", "abc"))
	id := testkit.NewID()
	assert.Len(t, id, 43)
	assert.NotEqual(t, id, testkit.NewID())
}

func TestRedisAnswersAndRestartsEmpty(t *testing.T) {
	r := testkit.StartRedis(t)
	do := func(cmd string) string {
		t.Helper()
		c, err := net.Dial("tcp", r.Addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Write([]byte(cmd + "\r\n"))
		require.NoError(t, err)
		line, err := bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		return strings.TrimSpace(line)
	}
	assert.Equal(t, "+OK", do("SET k v"))
	assert.Equal(t, ":1", do("DBSIZE"))
	r.Restart(t)
	assert.Equal(t, ":0", do("DBSIZE"), "a restarted server is empty")
	r.Stop()
	_, err := net.Dial("tcp", r.Addr)
	assert.Error(t, err, "a stopped server refuses connections")
}

func TestSentinelFailsOverAndHeals(t *testing.T) {
	s := testkit.StartSentinel(t)
	old := s.Primary(t)
	_, err := old.CLI("set", "k", "v")
	require.NoError(t, err)
	_, err = s.Sentinels[0].CLI("sentinel", "failover", testkit.SentinelName)
	require.NoError(t, err)
	next := s.AwaitFailover(t, old)
	assert.Equal(t, s.Other(old), next)
	got, err := next.CLI("get", "k")
	require.NoError(t, err)
	assert.Equal(t, "v", got, "the write replicated before the failover")
}

func TestClusterFormsWithOneReplicaEach(t *testing.T) {
	c := testkit.StartCluster(t)
	require.Len(t, c.Nodes, 6)
	for _, n := range c.Nodes {
		port, err := strconv.Atoi(n.Port())
		require.NoError(t, err)
		assert.LessOrEqual(t, port, 55535, "the bus port is the port + 10000")
	}
	rs := c.Replicas()
	require.Len(t, rs, 3)
	c.Failover(t, "takeover")
	for _, r := range rs {
		assert.Equal(t, "master", r.Info("replication", "role"), "%s promoted", r.Addr)
	}
}
