/*
 * Asks RocketMQ's own SQL92 filter (rocketmq-filter 5.3.3) for its answers, so the Rust filter
 * in src/filter/ can be checked against them. It compiles each expression as the broker does
 * (FilterFactory.INSTANCE.get("SQL92").compile) and evaluates it over a property map as
 * ExpressionMessageFilter.isMatchedByCommitLog does: an exception, null or a non-Boolean
 * result is "false"; an expression that does not compile is "error".
 *
 * Regenerate the fixture (from the repository root; needs the jars of tests/java-server):
 *
 *   java -cp "tests/java-server/target/lib/*" tests/java-filter/CrossCheck.java \
 *       tests/java-filter/cases.txt > src/filter/sql92/java-cases.txt
 *
 * The cases are the hand-written ones in cases.txt, then the systematic grids, the seeded
 * random token sequences and the seeded random expressions generated below. Output, one case a line:
 *
 *   <true|false|error> TAB <expression> TAB <name>=<value> TAB ...
 *
 * with \\, \t, \n, \r and \\uXXXX (other control characters) escaped in expressions and
 * values; a property not listed is absent. cases.txt uses the same form without the first
 * column.
 *
 *   java -cp "tests/java-server/target/lib/*" tests/java-filter/CrossCheck.java --digits
 *
 * prints the BMP decimal-digit table that Integer.valueOf accepts (java_number.rs DIGIT_ZEROS), and
 *
 *   java -cp "tests/java-server/target/lib/*" tests/java-filter/CrossCheck.java --random 100000 7 > /tmp/many.txt
 *
 * prints that many seeded random cases alone (no header) in the fixture's form, for a larger
 * one-off comparison: put them in place of java-cases.txt and run its test. --grammar instead
 * of --random draws expressions from the grammar, so most compile and evaluate.
 */

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.apache.rocketmq.filter.FilterFactory;
import org.apache.rocketmq.filter.expression.EvaluationContext;
import org.apache.rocketmq.filter.expression.Expression;

public class CrossCheck {

    /** MessageEvaluationContext over a plain map: every value a String, absent is null. */
    static final class Context implements EvaluationContext {
        final Map<String, String> properties;

        Context(Map<String, String> properties) {
            this.properties = properties;
        }

        @Override
        public Object get(String name) {
            return properties.get(name);
        }

        @Override
        public Map<String, Object> keyValues() {
            return new HashMap<>(properties);
        }
    }

    static PrintStream out;
    static final Set<String> seen = new HashSet<>();
    static final Set<String> failedToCompile = new HashSet<>();
    static int cases;

    public static void main(String[] args) throws Exception {
        out = new PrintStream(System.out, true, "UTF-8");
        if (args.length == 1 && args[0].equals("--digits")) {
            digits();
            return;
        }
        if (args.length == 3 && args[0].equals("--grammar")) {
            grammar(Integer.parseInt(args[1]), Long.parseLong(args[2]));
            return;
        }
        if (args.length == 3 && args[0].equals("--random")) {
            randomMany(Integer.parseInt(args[1]), Long.parseLong(args[2]));
            return;
        }
        if (args.length != 1) {
            System.err.println("usage: CrossCheck <cases.txt> | --digits | --random <count> <seed>");
            System.exit(2);
        }
        out.println("# RocketMQ 5.3.3's own answers (rocketmq-filter-5.3.3.jar, " + System.getProperty("java.version")
            + ") for the SQL92 filter, replayed by src/filter/sql92/tests.rs.");
        out.println("# Produced by tests/java-filter/CrossCheck.java from tests/java-filter/cases.txt plus its generated");
        out.println("# grids, seeded random token sequences and seeded random expressions; that file says how to");
        out.println("# regenerate it. Do not edit by hand.");
        out.println("# <true|false|error> TAB <expression> TAB <name>=<value> ... (\\\\ \\t \\n \\r \\uXXXX escaped)");

        for (String line : Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8)) {
            if (line.isEmpty() || line.startsWith("# ")) {
                continue;
            }
            String[] fields = line.split("\t", -1);
            Map<String, String> props = new LinkedHashMap<>();
            for (int i = 1; i < fields.length; i++) {
                int eq = fields[i].indexOf('=');
                props.put(fields[i].substring(0, eq), unescape(fields[i].substring(eq + 1)));
            }
            emit(unescape(fields[0]), props);
        }
        comparisons();
        logic();
        text();
        in();
        between();
        isNull();
        numberStrings();
        literals();
        random(900, 20261207L);
        grammar(600, 20261207L);
        System.err.println(cases + " cases");
    }

    static String answer(String expr, Map<String, String> props) {
        Expression compiled;
        try {
            compiled = FilterFactory.INSTANCE.get("SQL92").compile(expr);
        } catch (Throwable t) {
            return "error";
        }
        Object ret;
        try {
            ret = compiled.evaluate(new Context(props));
        } catch (Throwable t) {
            return "false";
        }
        if (!(ret instanceof Boolean)) {
            return "false";
        }
        return ((Boolean) ret) ? "true" : "false";
    }

    /** One case; an expression that does not compile is written once, without properties. */
    static void emit(String expr, Map<String, String> props) {
        String result = answer(expr, props);
        if (result.equals("error")) {
            if (!failedToCompile.add(expr)) {
                return;
            }
            props = new LinkedHashMap<>();
        }
        StringBuilder line = new StringBuilder(result).append('\t').append(escape(expr));
        for (Map.Entry<String, String> p : props.entrySet()) {
            line.append('\t').append(p.getKey()).append('=').append(escape(p.getValue()));
        }
        if (seen.add(line.toString())) {
            out.println(line);
            cases++;
        }
    }

    /** The expression, and NOT of it (which tells FALSE from null and from an exception). */
    static void emitBoth(String expr, Map<String, String> props) {
        emit(expr, props);
        emit("NOT (" + expr + ")", props);
    }

    /** emitBoth over each value of `name` (null: absent), other properties as given. */
    static void over(String expr, String name, String[] values, Map<String, String> others) {
        if (!expr.matches(".*\\b" + name + "\\b.*")) {
            emitBoth(expr, others);
            return;
        }
        for (String v : values) {
            Map<String, String> props = new LinkedHashMap<>(others);
            if (v != null) {
                props.put(name, v);
            }
            emitBoth(expr, props);
        }
    }

    static Map<String, String> none() {
        return new LinkedHashMap<>();
    }

    static void comparisons() {
        String[] operands = {"a", "'1'", "'abc'", "1", "1.0", "3000000000", "-1", "TRUE", "NULL"};
        String[] ops = {"=", "<>", ">", ">=", "<", "<="};
        String[] values = {null, "1", "1.0", "abc", "true", "3000000000", " 1", "NaN", "-1", "+1", ""};
        for (String op : ops) {
            for (String l : operands) {
                for (String r : operands) {
                    over(l + " " + op + " " + r, "a", values, none());
                }
            }
        }
    }

    static void logic() {
        String[] terms = {"TRUE", "FALSE", "NULL", "a = 1", "b = 1"};
        String[] forms = {"%s AND %s", "%s OR %s", "%s AND %s AND %s", "%s OR %s OR %s"};
        String[] values = {null, "1", "2", "z"};
        for (String form : forms) {
            for (String p : terms) {
                for (String q : terms) {
                    String expr = String.format(form, p, q, p);
                    for (String b : values) {
                        Map<String, String> others = none();
                        if (b != null) {
                            others.put("b", b);
                        }
                        if (!expr.contains("b") && b != null) {
                            continue;
                        }
                        over(expr, "a", values, others);
                    }
                }
            }
        }
    }

    static void text() {
        String[] ops = {"CONTAINS", "STARTSWITH", "ENDSWITH", "NOT CONTAINS", "NOT STARTSWITH", "NOT ENDSWITH"};
        String[] searches = {"''", "'b'", "'abc'", "'a''b'"};
        String[] lefts = {"a", "'abc'", "1", "-a"};
        String[] values = {null, "abc", "", "b", "a'b"};
        for (String op : ops) {
            for (String s : searches) {
                for (String l : lefts) {
                    over(l + " " + op + " " + s, "a", values, none());
                }
            }
        }
    }

    static void in() {
        String[] lists = {"('x')", "('x', 'y')", "('x', 'y', 'z', 'w', 'v', 'u')", "('it''s', '')"};
        String[] values = {null, "x", "y", "u", "q", "", "it's"};
        for (String not : new String[] {"", "NOT "}) {
            for (String list : lists) {
                over("a " + not + "IN " + list, "a", values, none());
            }
        }
        over("'x' IN ('x')", "a", values, none());
        over("(a) IN ('x')", "a", values, none());
    }

    static void between() {
        String[][] bounds = {{"1", "2"}, {"2", "1"}, {"1", "1"}, {"-2", "-1"}, {"-1", "-2"}, {"1.5", "2"},
            {"1", "2.5"}, {"2.5", "1"}, {"'a'", "'b'"}, {"NULL", "1"}, {"1", "NULL"}, {"TRUE", "FALSE"},
            {"1", "3000000000"}, {"b", "2"}, {"1", "b"}, {"+2", "+1"}};
        String[] values = {null, "1", "1.5", "2", "0", "x", "3000000000", "2.5"};
        Map<String, String> b = none();
        b.put("b", "1.5");
        for (String not : new String[] {"", "NOT "}) {
            for (String[] bound : bounds) {
                over("a " + not + "BETWEEN " + bound[0] + " AND " + bound[1], "a", values, b);
            }
        }
    }

    static void isNull() {
        String[] lefts = {"a", "'x'", "1", "NULL", "TRUE", "-a", "(a = 1)", "a = 1", "a IS NULL", "NOT a"};
        String[] values = {null, "1", "x"};
        for (String l : lefts) {
            over(l + " IS NULL", "a", values, none());
            over(l + " IS NOT NULL", "a", values, none());
        }
    }

    static void numberStrings() {
        String[] exprs = {"a = 1", "a = 1.0", "a > 0.5", "a = 3000000000", "a >= -1", "a = TRUE", "a > b",
            "a = 9007199254740992.0"};
        String[] values = {"1", "+1", "-1", "01", " 1", "1 ", "1.0", "1.", ".1", "1e0", "1E0", "1d", "1f", "1.0D",
            "1ff", "0x1p0", "0X1P0", "0x1.8p1", "0x.8p1", "-0x1p0", "0x1p", "0x", "0x1", "NaN", "-NaN", "Infinity",
            "-Infinity", "infinity", "+Infinity", "1e400", "-0", "-0.0", "0", "\u0661", "\uFF11", "\uD835\uDFCF",
            "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
            "9223372036854775808", "9007199254740993", "", " ", "\t1\t", "1\u00A0", "\u00A01", "true", "TRUE",
            "True", "yes", "0x1.fffffffffffff8p1023", "0x1p-1074", "0x1p-1075", "0x1.8p-1074", "0x3p-1076",
            "4.9e-324", "2.4703282292062328e-324", "2.4703282292062327e-324", "1.7976931348623158e308",
            "1.7976931348623159e308", "1_0", "1,0", "--1", "+-1", "1e", "1e+", ".", "e1"};
        Map<String, String> b = none();
        b.put("b", "0.5");
        for (String expr : exprs) {
            over(expr, "a", values, b);
        }
    }

    static void literals() {
        String[] literals = {"0", "00", "007", "10L", "10l", "0L", "0x10", "1_000", "2147483647", "2147483648",
            "9223372036854775807", "9223372036854775807L", "9223372036854775808", "99999999999999999999",
            "1.5E3", "1.5e3", "1500.0", ".5", "5.", "5.e2", "0.0", "0.", ".0", "0e0", "1e308", "1e309", "1e-324",
            "4.9e-324", "2e-324", "3e-324", "1e", "1e+3", "15e+2", "1.5L", "1.5e3L", "1.5D", "1,5"};
        String[] values = {null, "0", "10", "1500", "2147483648", "0.5"};
        for (String lit : literals) {
            over("a = " + lit, "a", values, none());
            over("a > " + lit, "a", values, none());
        }
    }

    /** Seeded random token sequences: mostly syntax errors, some valid, some with left-over text. */
    static void random(int count, long seed) {
        String[] vocabulary = {"a", "b", "a", "b", "NOT", "AND", "OR", "BETWEEN", "IN", "TRUE", "FALSE", "NULL",
            "IS", "CONTAINS", "STARTSWITH", "ENDSWITH", "=", "=", "<>", ">", ">=", "<", "<=", "(", ")", ",", "+",
            "-", "1", "2", "1.5", "10L", "'x'", "'1'", "'it''s'", "--c\n", "/* c */", "#", "'open", "0", ".5"};
        String[] values = {null, "1", "2", "x", "1.5", "abc", "true"};
        Random random = new Random(seed);
        for (int i = 0; i < count; i++) {
            int n = 1 + random.nextInt(8);
            StringBuilder expr = new StringBuilder();
            for (int j = 0; j < n; j++) {
                if (j > 0) {
                    expr.append(' ');
                }
                expr.append(vocabulary[random.nextInt(vocabulary.length)]);
            }
            for (int k = 0; k < 2; k++) {
                Map<String, String> props = none();
                String a = values[random.nextInt(values.length)];
                String b = values[random.nextInt(values.length)];
                if (a != null) {
                    props.put("a", a);
                }
                if (b != null) {
                    props.put("b", b);
                }
                emit(expr.toString(), props);
            }
        }
    }

    /** --random: longer sequences over more tokens and property values than random(). */
    static void randomMany(int count, long seed) {
        String[] vocabulary = {"a", "b", "c", "a", "b", "NOT", "AND", "OR", "BETWEEN", "IN", "TRUE", "FALSE",
            "NULL", "IS", "CONTAINS", "STARTSWITH", "ENDSWITH", "=", "=", "<>", ">", ">=", "<", "<=", "(", ")",
            ",", "+", "-", "1", "2", "1.5", "10L", "0", ".5", "5.", "1e3", "3000000000", "2147483648", "'x'",
            "'1'", "'true'", "''", "'a''b'", "IS NULL", "IS NOT NULL", "IN ('x', '1')", "NOT IN ('1', '2', 'x')",
            "BETWEEN 1 AND 2", "BETWEEN -1 AND 1.5", "= TRUE", "a = 1", "b > 1.5", "NOT (", "(a", "--c\n",
            "/* c */", "#", "'open", "!"};
        String[] values = {null, "1", "2", "x", "1.5", "abc", "true", "TRUE", " 1", "NaN", "-0", "3000000000",
            "1e3", "0x1p1", "", "01", "\u0661", "a'b", "1d"};
        Random random = new Random(seed);
        for (int i = 0; i < count; i++) {
            int n = 1 + random.nextInt(12);
            StringBuilder expr = new StringBuilder();
            for (int j = 0; j < n; j++) {
                if (j > 0) {
                    expr.append(' ');
                }
                expr.append(vocabulary[random.nextInt(vocabulary.length)]);
            }
            Map<String, String> props = none();
            for (String name : new String[] {"a", "b", "c"}) {
                String v = values[random.nextInt(values.length)];
                if (v != null) {
                    props.put(name, v);
                }
            }
            emit(expr.toString(), props);
        }
    }

    /** Random expressions drawn from the grammar (most compile), over random property values. */
    static void grammar(int count, long seed) {
        Random random = new Random(seed);
        String[] values = {null, "1", "2", "-1", "0", "x", "abc", "1.5", "true", "TRUE", " 1", "01", "+1",
            "NaN", "-0", "Infinity", "3000000000", "9223372036854775807", "1e3", "0x1p1", "1d", "", "\u0661",
            "x'y", "ab", "b"};
        for (int i = 0; i < count; i++) {
            String expr = grammarBool(random, 3);
            Map<String, String> props = none();
            for (String name : new String[] {"a", "b", "c"}) {
                String v = values[random.nextInt(values.length)];
                if (v != null) {
                    props.put(name, v);
                }
            }
            emit(expr, props);
        }
    }

    static String pick(Random r, String... options) {
        return options[r.nextInt(options.length)];
    }

    static String grammarValue(Random r, int depth) {
        switch (depth <= 0 ? r.nextInt(4) : r.nextInt(7)) {
            case 0: return pick(r, "a", "b", "c", "a");
            case 1: return pick(r, "1", "2", "0", "10L", "3000000000", "9223372036854775807", "1.5", ".5", "5.",
                "1e3", "2147483648");
            case 2: return pick(r, "'x'", "'1'", "'abc'", "''", "'true'", "'x''y'", "'1.5'");
            case 3: return pick(r, "TRUE", "FALSE", "NULL", "a", "1");
            case 4: return "-" + grammarValue(r, depth - 1);
            case 5: return "(" + grammarValue(r, depth - 1) + ")";
            default: return "(" + grammarBool(r, depth - 1) + ")";
        }
    }

    static String grammarBool(Random r, int depth) {
        String v = grammarValue(r, depth - 1);
        switch (depth <= 0 ? 9 + r.nextInt(3) : r.nextInt(12)) {
            case 0: return "NOT " + grammarBool(r, depth - 1);
            case 1: return grammarBool(r, depth - 1) + " AND " + grammarBool(r, depth - 1);
            case 2: return grammarBool(r, depth - 1) + " OR " + grammarBool(r, depth - 1);
            case 3: return "(" + grammarBool(r, depth - 1) + ")";
            case 4: return v + " " + pick(r, "=", "<>", ">", ">=", "<", "<=") + " " + grammarValue(r, depth - 1);
            case 5: return v + pick(r, " BETWEEN ", " NOT BETWEEN ") + grammarValue(r, depth - 1) + " AND "
                + grammarValue(r, depth - 1);
            case 6: return pick(r, "a", "b", "c") + pick(r, " IN ", " NOT IN ")
                + pick(r, "('x')", "('1', 'abc')", "('x', '1', '2', 'true', '', 'ab')");
            case 7: return v + pick(r, " CONTAINS ", " NOT CONTAINS ", " STARTSWITH ", " NOT STARTSWITH ",
                " ENDSWITH ", " NOT ENDSWITH ") + pick(r, "'a'", "'b'", "''", "'1'", "'x''y'");
            case 8: return v + pick(r, " IS NULL", " IS NOT NULL");
            case 9: return v + " = " + grammarValue(r, depth - 1);
            case 10: return pick(r, "a", "b", "c", "TRUE", "FALSE", "NULL");
            default: return v + " " + pick(r, ">", "<", "=") + " " + grammarValue(r, depth - 1);
        }
    }

    static void digits() {
        List<Integer> zeros = new ArrayList<>();
        int digitChars = 0;
        for (int c = 0; c <= 0xFFFF; c++) {
            int d = Character.digit((char) c, 10);
            if (d == 0) {
                zeros.add(c);
            }
            if (d >= 0) {
                digitChars++;
                int zero = zeros.get(zeros.size() - 1);
                if (c - zero != d) {
                    throw new IllegalStateException(String.format("U+%04X is digit %d, not %d", c, d, c - zero));
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int z : zeros) {
            sb.append(String.format("0x%04X, ", z));
        }
        out.println("// " + zeros.size() + " runs, " + digitChars + " digits, Java " + System.getProperty("java.version"));
        out.println(sb.toString().trim());
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '\\': sb.append("\\\\"); break;
                case '\t': sb.append("\\t"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                default:
                    if (c < 0x20 || c == 0x7f) {
                        sb.append(String.format("\\u%04X", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        return sb.toString();
    }

    static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char e = s.charAt(++i);
            switch (e) {
                case '\\': sb.append('\\'); break;
                case 't': sb.append('\t'); break;
                case 'n': sb.append('\n'); break;
                case 'r': sb.append('\r'); break;
                case 'u':
                    sb.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                    i += 4;
                    break;
                default: throw new IllegalArgumentException("bad escape in " + s);
            }
        }
        return sb.toString();
    }
}
